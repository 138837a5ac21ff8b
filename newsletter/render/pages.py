"""Rendering our own site templates many times over, fast, to the same bytes.

Two ways of doing less work per page, both for the built-in templates only
(a project's own templates are rendered as they are, page by page):

- :class:`Frame`: everything ``site/base.html`` writes outside its blocks
  (the head, the site's header and footer) is the same on every page; it
  is rendered once, and each page renders only its blocks.
- :class:`Cards`: a post's entry in a list of posts (``site/cards.html``)
  is rendered once per post and joined into every page that lists it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from markupsafe import Markup

from newsletter.models import Post
from newsletter.slugs import category_slug


class _Marker:
    """Stands in the frame for one block (an object: no text of a page can look like it)."""

    def __init__(self, name: str):
        self.name = name

    def __call__(self, context: Any) -> Iterator[Any]:
        yield self


class _MarkedBlocks(dict[str, list[Any]]):
    """A context's blocks in which each block's first function yields its marker.

    A template that extends another adds the parent's blocks with
    ``setdefault``: each new name gets its marker first.
    """

    def setdefault(self, name: str, default: Any = None) -> list[Any]:  # type: ignore[override]
        if name not in self:
            self[name] = [_Marker(name)]
        return self[name]


class Frame:
    """One page template of ours, its frame rendered once: ``render(values)`` renders only its blocks.

    ``template.render(common, **values)`` and ``render(values)`` give the
    same text when nothing outside the blocks uses a page's own values. That
    is checked when the frame is made: with ``StrictUndefined``, a page
    value read outside a block is an error there; a frame that sets
    variables (which blocks could read) is refused. :func:`frame_of` makes one
    where that holds. Tests compare both ways for every page of ours.
    """

    def __init__(self, template: Any, common: dict[str, Any]):
        self.template = template
        context = template.new_context(dict(common))
        context.blocks = _MarkedBlocks({name: [_Marker(name), block] for name, block in template.blocks.items()})
        texts: list[str] = []
        names: list[str] = []
        piece: list[str] = []
        for part in template.root_render_func(context):
            if isinstance(part, _Marker):
                texts.append("".join(piece))
                names.append(part.name)
                piece = []
            else:
                piece.append(part)
        texts.append("".join(piece))
        if context.exported_vars or set(context.vars) - set(common):
            raise _SetsVariables(template.name)
        self.texts = texts
        self.encoded = [text.encode("utf-8") for text in texts]
        self.names = names
        # What a new context would start from: the template's globals and the common values.
        self.parent = {**template.globals, **common}
        # Each block's functions, the template's own first, as the root would have them.
        self.blocks = {name: list(chain[1:]) for name, chain in context.blocks.items()}
        # A page's context is a copy of one made here (see _new_context), its EvalContext too.
        made = template.new_context(dict(common))
        made.vars = _NO_VARS
        made.blocks = self.blocks
        self._context_class, self._context = type(made), dict(made.__dict__)
        self._eval_class, self._eval = type(made.eval_ctx), dict(made.eval_ctx.__dict__)
        self._names = _names_class()

    def _new_context(self, values: dict[str, Any]) -> Any:
        """A context for one page, as ``template.new_context(values)`` makes it, for less.

        A copy of a context made with the frame (its attributes and its
        EvalContext's: no autoescape function called for every page). Its
        names (the globals, the common values and the page's) are in one
        dict, looked up by that dict's own ``__getitem__`` (C, ``missing``
        for an unknown name) where Jinja would call ``resolve_or_missing``.
        A block writes no variable into the context (Jinja keeps a block's
        ``set`` in the block); should one, its ``vars`` are read-only: an
        error, never a name missed.
        """
        names = self._names(self.parent)
        names.update(values)
        context = object.__new__(self._context_class)
        context.__dict__.update(self._context)
        eval_ctx = context.eval_ctx = object.__new__(self._eval_class)
        eval_ctx.__dict__.update(self._eval)
        context.parent = names
        context.resolve_or_missing = names.__getitem__
        context.exported_vars = set()
        return context

    def _run(self, values: dict[str, Any]) -> list[list[str]]:
        """The pieces of each block (in the order of ``names``) for a page's values."""
        context = self._new_context(values)
        blocks = self.blocks
        try:
            return [list(blocks[name][0](context)) for name in self.names]
        except Exception:
            self.template.environment.handle_exception()
            raise  # not reached: handle_exception raises

    def blocks_of(self, values: dict[str, Any]) -> list[str]:
        """The text of each block (in the order of ``names``) for a page's values."""
        return ["".join(pieces) for pieces in self._run(values)]

    def render(self, values: dict[str, Any]) -> str:
        """The page for these values (the page's own; the common values are in the frame already)."""
        texts = self.texts
        out = [texts[0]]
        for block, text in zip(self.blocks_of(values), texts[1:], strict=True):
            out.append(block)
            out.append(text)
        return "".join(out)

    def render_bytes(self, values: dict[str, Any]) -> bytes:
        """:meth:`render` encoded in UTF-8, the frame encoded once: only the blocks' text is encoded for a page.

        (A page's text as one string would be encoded whole: most of it
        the frame, and never plain ASCII once it holds a ``·``.)
        """
        encoded = self.encoded
        out = [encoded[0]]
        for pieces, data in zip(self._run(values), encoded[1:], strict=True):
            out.append("".join(pieces).encode("utf-8"))
            out.append(data)
        return b"".join(out)


@lru_cache(maxsize=1)
def _names_class() -> type[dict[str, Any]]:
    """The class of the dict of a page's names: ``missing`` (Jinja's marker) for a name not there.

    Made on first use: Jinja is imported when a page is rendered, not with this module.
    """
    from jinja2.utils import missing

    class Names(dict[str, Any]):
        __slots__ = ()

        def __missing__(self, key: str) -> Any:
            return missing

    return Names


_NO_VARS: Mapping[str, Any] = MappingProxyType({})


def frame_of(template: Any, common: dict[str, Any]) -> Frame | None:
    """The :class:`Frame` of ``template``, or None for a template that has no blocks or needs a page's values."""
    from jinja2 import UndefinedError

    if not template.blocks:
        return None
    try:
        return Frame(template, common)
    except (UndefinedError, _SetsVariables):
        return None


class _SetsVariables(Exception):
    """A template sets variables outside its blocks."""


class Cards:
    """Pieces of pages rendered once each and reused: the blocks of ``site/cards.html``.

    A post's entry in the lists of posts (once per post and kind of list), a
    link to a category or tag page (once per name). Rendered in one context,
    reused: a block reads its values when it starts.

    A post's pieces are found by the post object's ``id()``, not by one of
    its attributes: a taxonomy page of thousands of posts then reads none of
    them (reading each scattered post was most of the page's time). Every
    post given is kept, so no id is reused while these pieces are.
    """

    def __init__(self, template: Any, common: dict[str, Any]):
        self.template = template
        self.entries: dict[tuple[str, bool], dict[int, bytes]] = {}  # by block and variant, then by id(post)
        self.context = template.new_context(dict(common))
        self._pairs = _Made(self._pair)  # by name: (name, slug)
        self._category_links = _Made(self._category_link)  # by name: the link, rendered
        self._tag_links = _Made(self._tag_link)
        self.long_date = template.environment.filters["longdate"]
        self._dates: dict[int, tuple[str, str]] = {}  # by id(post): (ISO date, long date)
        self._posts: dict[int, Post] = {}  # every post given, by id(post): it stays alive with its pieces

    def render(self, kind: str, values: dict[str, Any]) -> str:
        """Block ``kind`` for these values."""
        context = self.context
        context.vars = values
        try:
            return "".join(self.template.blocks[kind](context))
        except Exception:
            self.template.environment.handle_exception()
            raise  # not reached: handle_exception raises

    def join(self, kind: str, posts: Sequence[Post], show_summaries: bool = False, keep: bool = True) -> Markup:
        """The entries of ``posts`` in a list of this kind (``listing_card``, ``taxonomy_card``), as one Markup.

        The entries made are kept in UTF-8 (a string holding one character
        beyond Latin-1, as a summary's "…", takes two bytes for each), unless
        ``keep`` is false: a list that is the only one of its kind to show
        them, like the archive of every post.
        """
        kept = self.entries.setdefault((kind, show_summaries), {})
        found = list(map(kept.get, map(id, posts)))
        if not keep:
            return Markup(
                "".join(
                    [
                        self._entry(kind, post, show_summaries) if entry is None else str(entry, "utf-8")
                        for post, entry in zip(posts, found, strict=True)
                    ]
                )
            )
        if None in found:
            for at, entry in enumerate(found):
                if entry is None:
                    post = posts[at]
                    found[at] = kept[id(post)] = self._entry(kind, post, show_summaries).encode("utf-8")
        return Markup(str(b"".join(found), "utf-8"))  # type: ignore[arg-type]

    def _entry(self, kind: str, post: Post, show_summaries: bool) -> str:
        """A post's entry in a list of this kind."""
        iso_date, long_date = self._kept_dates(post)
        # "categories": what post.categories | join(", ") writes (categories are text), without three calls of Jinja's
        values = {
            "post": post,
            "show_summaries": show_summaries,
            "iso_date": iso_date,
            "long_date": long_date,
            "categories": ", ".join(map(str, post.categories)),
        }
        return self.render(kind, values)

    def dates(self, post: Post) -> tuple[str, str]:
        """A post's date as ``post.date.isoformat()`` and ``post.date | longdate`` write it (for its own page).

        As the lists computed them when they did, else computed and not
        kept: a post's page asks once, and a process making thousands of
        them would keep each.
        """
        found = self._dates.get(id(post))
        if found is None:
            return post.date.isoformat(), self.long_date(post.date)
        return found

    def _kept_dates(self, post: Post) -> tuple[str, str]:
        """:meth:`dates`, computed once per post (a post is in many lists) and kept."""
        found = self._dates.get(id(post))
        if found is None:
            self._posts[id(post)] = post
            found = self._dates[id(post)] = (post.date.isoformat(), self.long_date(post.date))
        return found

    def taxonomy(self, post: Post) -> tuple[list[tuple[str, str]], list[tuple[str, str]], Markup]:
        """A post's categories and its tags, (name, slug) each, and the links to their pages, as one Markup.

        Each name's slug (:func:`newsletter.slugs.category_slug`) and link
        (block ``category_link`` or ``tag_link``) are made once, then looked
        up: a page asks for its names without a call of Python per name.
        """
        categories, tags = post.categories, post.tags
        links = "".join(map(self._category_links.__getitem__, categories))
        if tags:
            links += "".join(map(self._tag_links.__getitem__, tags))
        return list(map(self._pairs.__getitem__, categories)), list(map(self._pairs.__getitem__, tags)), Markup(links)

    def _pair(self, name: str) -> tuple[str, str]:
        return name, category_slug(name)

    def _category_link(self, name: str) -> str:
        return self.render("category_link", {"name": name, "slug": self._pairs[name][1]})

    def _tag_link(self, name: str) -> str:
        return self.render("tag_link", {"name": name, "slug": self._pairs[name][1]})


class _Made(dict[str, Any]):
    """Values made on first use, by ``make(key)``, and kept."""

    __slots__ = ("make",)

    def __init__(self, make: Callable[[str], Any]):
        super().__init__()
        self.make = make

    def __missing__(self, key: str) -> Any:
        value = self[key] = self.make(key)
        return value
