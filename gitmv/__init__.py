"""gitmv: version ML models and data inside ordinary git repositories."""

__version__ = "0.1.0"
