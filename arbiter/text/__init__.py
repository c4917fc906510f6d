"""Text matching: normalization, cross-script names, disguises, and the matcher."""

from arbiter.text.matcher import TextMatcher
from arbiter.text.normalize import Normalized, normalize

__all__ = ["Normalized", "TextMatcher", "normalize"]
