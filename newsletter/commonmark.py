"""cmark-gfm called directly: its C binding (cmarkgfm), the extensions looked up once, the memory given back.

cmarkgfm's own ``markdown_to_html_with_extensions`` looks the extensions up
on every call and leaves each body's syntax tree and HTML allocated; a
cold build renders every post, so :func:`to_html` does neither.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def extensions() -> tuple[Any, ...]:
    """cmark-gfm's table and strikethrough extensions, looked up once."""
    from cmarkgfm import cmark

    cmark.core_extensions_ensure_registered()
    return tuple(cmark.find_syntax_extension(name) for name in ("table", "strikethrough"))


@lru_cache(maxsize=1)
def freers() -> tuple[Any, Any] | None:
    """cmark's cmark_node_free and the C library's free, which cmarkgfm's bindings leave out.

    Without them every body leaks its syntax tree and its HTML (about 20 KB
    for a 3 KB post: 100 MB per 5,000 posts, and without end in the
    preview server). None where they cannot be found: then it leaks.
    """
    import ctypes

    from cmarkgfm import _cmark

    try:
        node_free = ctypes.CDLL(_cmark.__file__).cmark_node_free
        libc_free = ctypes.CDLL(None).free
    except (OSError, AttributeError):
        return None
    for function in (node_free, libc_free):
        function.argtypes, function.restype = [ctypes.c_void_p], None
    return node_free, libc_free


@lru_cache(maxsize=1)
def binding() -> tuple[Any, Any, Any, int, int]:
    """cmarkgfm's C binding, its cmark module, and the options of the two kinds of body, imported once."""
    from cmarkgfm import _cmark as binding
    from cmarkgfm import cmark

    footnotes = cmark.Options.CMARK_OPT_FOOTNOTES
    return binding.ffi, binding.lib, cmark, cmark.Options.CMARK_OPT_UNSAFE | footnotes, footnotes


def to_html(text: str, options: int = 0) -> str:
    """cmarkgfm's markdown_to_html_with_extensions: extensions looked up once, memory given back."""
    ffi, lib = binding()[:2]
    parser = lib.cmark_parser_new(options)
    try:
        for extension in extensions():
            lib.cmark_parser_attach_syntax_extension(parser, extension)
        source = text.encode("utf-8")
        lib.cmark_parser_feed(parser, source, len(source))
        root = lib.cmark_parser_finish(parser)
        raw = lib.cmark_render_html(root, options, lib.cmark_parser_get_syntax_extensions(parser))
        try:
            return ffi.string(raw).decode("utf-8")  # type: ignore[no-any-return]
        finally:
            free = freers()
            if free is not None:
                free[0](int(ffi.cast("uintptr_t", root)))
                free[1](int(ffi.cast("uintptr_t", raw)))
    finally:
        lib.cmark_parser_free(parser)
