"""The per-output renderers: one file per call, the same bytes as the whole-site functions."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from jinja2 import Environment
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from newsletter.addresses import taxonomy_pages
from newsletter.i18n import language
from newsletter.load import load_project
from newsletter.render.feeds import MAIN_FEEDS, feed_renderer, group_by_category, render_feeds
from newsletter.render.site import SiteRenderer, post_page_path, redirect_pages, render_site, site_renderer
from newsletter.slugs import category_slug
from newsletter.templates import PACKAGE_TEMPLATES, output_escaper, own_templates, package_environment


def with_aliases(sample: Path) -> Path:
    """The sample with an old address on its first post, so that a redirect page exists."""
    post = sorted((sample / "posts").glob("*.md"))[0]
    text = post.read_text(encoding="utf-8")
    post.write_text(text.replace("\n", "\naliases: [/old/address/]\n", 1), encoding="utf-8")
    return sample


def test_each_page_of_the_site_renderer_is_the_page_render_site_makes(sample: Path) -> None:
    project = load_project(with_aliases(sample))
    pages = render_site(project, [])
    renderer = site_renderer(project)
    published = project.published
    expected = {post_page_path(post, renderer.base): renderer.post_page(post) for post in published}
    expected.update(
        (path, renderer.taxonomy_page(kind, name, slug, members))
        for path, (kind, name, slug, members) in taxonomy_pages(published).items()
    )
    redirects = dict(redirect_pages(project.settings, published))
    assert redirects, "the sample should have a redirect page"
    expected.update((path, renderer.redirect(post)) for path, post in redirects.items())
    expected["index.html"] = renderer.listing(archive=False)
    expected["posts/index.html"] = renderer.listing(archive=True)
    expected["digests/index.html"] = renderer.digests_index([])
    assert pages == expected
    assert 'action="' in renderer.subscribe_page()


def test_each_feed_of_the_feed_renderer_is_the_feed_render_feeds_makes(sample: Path) -> None:
    project = load_project(sample)
    feeds = render_feeds(project)
    renderer = feed_renderer(project)
    expected: dict[str, str | bytes] = {path: renderer.main(path) for path in MAIN_FEEDS}
    for slug, (name, posts) in group_by_category(project.published, project.settings.feed.limit).items():
        expected[f"categories/{slug}.xml"] = renderer.category(f"categories/{slug}.xml", name, posts)
    assert feeds == expected
    with pytest.raises(ValueError):
        renderer.main("index.html")


def test_renderers_are_made_once_per_project_object(sample: Path) -> None:
    project = load_project(sample)
    assert site_renderer(project) is site_renderer(project)
    assert feed_renderer(project) is feed_renderer(project)
    again = load_project(sample)
    assert site_renderer(again) is not site_renderer(project)
    assert feed_renderer(again) is not feed_renderer(project)


def _render_in_child(queue: multiprocessing.Queue[tuple[str, bytes | str]], project: object) -> None:
    post = project.published[0]  # type: ignore[attr-defined]
    queue.put((site_renderer(project).post_page(post), feed_renderer(project).main("feed.xml")))  # type: ignore[arg-type]


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork on this system")
@pytest.mark.parametrize("prepared", [False, True])
def test_renderers_work_in_a_process_forked_after_they_were_made(sample: Path, prepared: bool) -> None:
    project = load_project(sample)
    site, feeds = site_renderer(project), feed_renderer(project)  # made, nothing rendered yet
    if prepared:
        assert site.prepare() is site
    context = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue[tuple[str, bytes | str]] = context.Queue()
    child = context.Process(target=_render_in_child, args=(queue, project))
    child.start()
    page, feed = queue.get(timeout=60)
    child.join(60)
    assert child.exitcode == 0
    assert page == site.post_page(project.published[0])
    assert feed == feeds.main("feed.xml")


def every_page(renderer: SiteRenderer) -> dict[str, str]:
    """Every page the renderer makes for its project, by a name."""
    published = renderer.published
    pages = {f"post {post.path}": renderer.post_page(post) for post in published}
    pages.update(
        (path, renderer.taxonomy_page(kind, name, slug, members))
        for path, (kind, name, slug, members) in taxonomy_pages(published).items()
    )
    pages.update((path, renderer.redirect(post)) for path, post in redirect_pages(renderer.settings, published))
    pages["index"] = renderer.listing(archive=False)
    pages["archive"] = renderer.listing(archive=True)
    pages["digests"] = renderer.digests_index([])
    pages["subscribe"] = renderer.subscribe_page()
    return pages


@pytest.mark.parametrize("language", ["en", "de", "ar"])
def test_our_templates_give_the_same_pages_framed_and_unsandboxed_as_in_the_sandbox(
    sample: Path, language: str
) -> None:
    settings = sample / "newsletter.toml"
    settings.write_text(settings.read_text(encoding="utf-8").replace('language = "en"', f'language = "{language}"'))
    project = load_project(with_aliases(sample))
    fast = SiteRenderer(project)
    assert fast.ours, "no site template of the project's"
    sandboxed = SiteRenderer(project)
    sandboxed.ours = False  # every page rendered whole, in the sandbox, as a project's templates are
    pages = every_page(fast)
    assert isinstance(fast.template("site/post.html").environment, Environment)
    assert not isinstance(fast.template("site/post.html").environment, SandboxedEnvironment)
    assert isinstance(sandboxed.template("site/post.html").environment, SandboxedEnvironment)
    assert pages == every_page(sandboxed)
    for post in fast.published:  # as the build writes them: the frame encoded once, each page's blocks
        assert fast.post_page_bytes(post) == pages[f"post {post.path}"].encode("utf-8")
    assert fast._frames["site/post.html"] is not None and fast._frames["site/redirect.html"] is None
    assert list((sample / ".newsletter-cache" / "templates-ours").iterdir()), "our compiled templates are kept"


# The listings and links as the templates wrote them inline before their pieces
# were rendered once each (site/cards.html): a project's own templates still can.
INLINE = {
    "site/index.html": """{% extends "default/site/base.html" %}
{% block main %}
<h1>{{ heading }}</h1>
{% if intro %}<p>{{ intro }}</p>{% endif %}
<ul class="posts">
{% for post in posts %}
<li{% if post.lang and post.lang != lang %} lang="{{ post.lang }}" dir="{{ direction(post.lang) }}"{% endif %}><h2><a href="{{ post.url }}">{{ post.title }}</a></h2>
<p class="meta"><time datetime="{{ post.date.isoformat() }}">{{ post.date | longdate }}</time>{% if post.categories %} · {{ post.categories | join(", ") }}{% endif %}</p>
{% if show_summaries and post.summary %}<p>{{ post.summary }}</p>{% endif %}</li>
{% else %}
<li>{{ _("No posts yet.") }}</li>
{% endfor %}
</ul>
{% if more %}<p><a href="{{ base }}posts/">{% trans count=total %}All {{ count }} post{% pluralize %}All {{ count }} posts{% endtrans %}</a></p>{% endif %}
{% endblock %}
""",
    "site/taxonomy.html": """{% extends "default/site/base.html" %}
{% block title %}{{ heading }} · {{ site.title }}{% endblock %}
{% block main %}
<h1>{{ heading }}</h1>
<p>{{ intro }}{% if feed %} <a href="{{ feed }}">{% trans %}RSS feed of {{ name }}{% endtrans %}</a>{% endif %}</p>
<ul class="posts">
{% for post in posts %}
<li><h2><a href="{{ post.url }}">{{ post.title }}</a></h2>
<p class="meta"><time datetime="{{ post.date.isoformat() }}">{{ post.date | longdate }}</time></p>
{% if post.summary %}<p>{{ post.summary }}</p>{% endif %}</li>
{% endfor %}
</ul>
{% endblock %}
""",
    "site/links.html": """{% for name, slug in categories %}<a href="{{ base }}categories/{{ slug }}/" title="{% trans %}Posts in {{ name }}{% endtrans %}">{{ name }}</a>{% endfor %}{% for name, slug in tags %}<a class="tag" href="{{ base }}tags/{{ slug }}/" title="{% trans %}Posts tagged {{ name }}{% endtrans %}">#{{ name }}</a>{% endfor %}""",
}


def inline_post_page() -> str:
    """Our site/post.html as it was, computing in the template what it is now given."""
    text = (PACKAGE_TEMPLATES / "site" / "post.html").read_text(encoding="utf-8")
    for given, computed in [
        ("{{ iso_date }}", "{{ post.date.isoformat() }}"),
        ("{{ long_date }}", "{{ post.date | longdate }}"),
        ("{% for number, ref in references %}", "{% for ref in post.references %}"),
        ('id="ref-{{ number }}"', 'id="ref-{{ loop.index }}"'),
        ("{{ taxonomy_links }}", "{% include 'site/links.html' %}"),
    ]:
        assert given in text
        text = text.replace(given, computed)
    return text


@pytest.mark.parametrize("language", ["en", "de"])
def test_pieces_rendered_once_are_what_the_templates_wrote_inline(sample: Path, language: str) -> None:
    settings = sample / "newsletter.toml"
    settings.write_text(settings.read_text(encoding="utf-8").replace('language = "en"', f'language = "{language}"'))
    (sample / "posts" / "other-language.md").write_text(
        "---\ntitle: Autre\ndate: 2026-11-01 09:00\nlang: fr\ncategories: [Zebra & <b>]\n---\nCorps.\n",
        encoding="utf-8",
    )
    ours = SiteRenderer(load_project(sample))
    assert ours.ours  # decided now, before the project has templates of its own
    for name, text in {**INLINE, "site/post.html": inline_post_page()}.items():
        (sample / "templates" / name).parent.mkdir(parents=True, exist_ok=True)
        (sample / "templates" / name).write_text(text, encoding="utf-8")
    inline = SiteRenderer(load_project(sample))
    assert not inline.ours
    assert inline.listing(archive=False) == ours.listing(archive=False)
    assert inline.listing(archive=True) == ours.listing(archive=True)
    for kind, name, slug, members in taxonomy_pages(ours.published).values():
        assert inline.taxonomy_page(kind, name, slug, members) == ours.taxonomy_page(kind, name, slug, members)
    links = inline.template("site/links.html")
    for post in ours.published:
        assert inline.post_page(post) == ours.post_page(post)
        categories = [(name, category_slug(name)) for name in post.categories]
        tags = [(name, category_slug(name)) for name in post.tags]
        expected = links.render(inline.common, categories=categories, tags=tags)
        if expected:
            assert f'<p class="tags">{expected}</p>' in ours.post_page(post)


def test_the_package_templates_run_unsandboxed_only_without_site_templates_of_the_project(tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    assert not own_templates(None, "site") and not own_templates(folder, "site")
    (folder / "email").mkdir(parents=True)
    (folder / "email" / "digest.html").write_text("x", encoding="utf-8")
    (folder / "sites.html").write_text("x", encoding="utf-8")
    assert not own_templates(folder, "site")
    (folder / "Site").mkdir()
    (folder / "Site" / "notes.txt").write_text("x", encoding="utf-8")
    assert own_templates(folder, "site"), "a case-insensitive file system would find it"


class _Html:
    def __html__(self) -> str:
        return "<b>safe</b>"


@pytest.mark.parametrize(
    "value",
    [
        "plain",
        "A & B <c> 'd' \"e\"",
        "&amp; already",
        "",
        "ünï · 中文 <x>",
        7,
        -3,
        True,
        2.5,
        None,
        Markup("<i>"),
        _Html(),
    ],
)
def test_our_templates_write_each_value_as_markupsafe_escapes_it(value: object) -> None:
    escape_output = output_escaper()
    assert escape_output(value) == str(escape(value))
    env = package_environment(language("en"))
    template = "<p title='{{ v }}'>{{ v }}</p>{% set s %}[{{ v }}]{% endset %}{{ s }}{{ s | upper }}{{ v ~ '<' }}"
    reference = Environment(autoescape=True).from_string(template)
    assert env.from_string(template).render(v=value) == reference.render(v=value)
