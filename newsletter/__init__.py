"""newsletter: Markdown posts to RSS, Atom, JSON Feed and a weekly email digest."""

__version__ = "0.1.0"
