"""ccstats: self-hosted contact-center analytics that answers vendor reporting APIs."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
