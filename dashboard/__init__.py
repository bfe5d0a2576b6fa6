"""The Dash app: pages, figures, exports. No GIS here: it asks ``layers`` for layers."""

from dashboard.app import create_app

__all__ = ["create_app"]
