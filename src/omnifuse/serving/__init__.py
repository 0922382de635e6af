"""Serving: model bundles (save and reload a trained model without pickle).

Public API::

    from omnifuse.serving import Bundle, save_bundle, load_bundle
"""

from omnifuse.serving.bundle import Bundle, load_bundle, save_bundle

__all__ = ["Bundle", "load_bundle", "save_bundle"]
