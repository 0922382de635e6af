"""The MIMIC recipe: OmniFuse's (Wu et al. 2025) in-hospital-mortality cohort (EHR + CXR + report).

Public API::

    from omnifuse.data.mimic import build_mimic, write_mimic, COLUMNS

Modules: ``variables`` (the 17 variables, MIMIC-IV itemids, categories, normal values, the
76 columns), ``tables`` (reading MIMIC CSV(.gz) files), ``cohort`` (ICU stays and labels),
``events`` (chart/lab events, cleaning), ``discretize`` (2-hour bins, forward fill, one-hot),
``cxr`` (image and report matching, report sections), ``recipe`` (the whole build and writing).
"""

from omnifuse.data.mimic.recipe import MimicResult, build_mimic, subject_split, write_mimic
from omnifuse.data.mimic.variables import COLUMNS, ITEMS, VARIABLES

__all__ = ["COLUMNS", "ITEMS", "VARIABLES", "MimicResult", "build_mimic", "subject_split", "write_mimic"]
