"""omnifuse: multimodal learning on low-quality medical data.

Modalities may be missing for some patients, carry very unequal signal, or be noisy.
The data contract lives in :mod:`omnifuse.data`.
"""

from omnifuse.errors import OmnifuseError

__version__ = "0.1.0"

__all__ = ["OmnifuseError", "__version__"]
