"""Missing-modality imputation in embedding space (OmniFuse IMP, Wu et al. 2025 section 3.3)."""

from omnifuse.imputation.cra import CascadeResidualAutoencoder, ResidualAutoencoder
from omnifuse.imputation.patterns import artificial_availability, proper_subsets

__all__ = ["CascadeResidualAutoencoder", "ResidualAutoencoder", "artificial_availability", "proper_subsets"]
