"""The documentation: a short README and the MkDocs site in docs/, built with warnings as
errors, that opens offline. A few seconds: three builds of a small site."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from helpers import REPO

README_MAX_LINES = 250
BACKFILL_COMMAND = ("python -m venv .venv && . .venv/bin/activate && pip install -e . && "
                    "snakemake --cores all all_weeks")
REMOTE = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)  # http://, https:// or protocol-relative //


def mkdocs_build(project: Path, site: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--site-dir", str(site), *extra],
                          cwd=project, capture_output=True, text=True, timeout=120)


def nav_pages(nav) -> list[str]:
    """Every page file named in mkdocs.yml's nav, nested sections included."""
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, list):
        return [page for item in nav for page in nav_pages(item)]
    if isinstance(nav, dict):
        return [page for value in nav.values() for page in nav_pages(value)]
    raise AssertionError(f"unexpected nav entry {nav!r}")


def config() -> dict:
    return yaml.safe_load((REPO / "mkdocs.yml").read_text())


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site, built as CI would: `mkdocs build --strict` from the repository root."""
    out = tmp_path_factory.mktemp("site")
    result = mkdocs_build(REPO, out, "--strict")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    return out


class Resources(HTMLParser):
    """What a page loads: scripts, stylesheets and other linked files, images, frames, and
    the url()/@import of its inline styles."""

    LOADS = {"script": ["src"], "link": ["href"], "img": ["src", "srcset"], "iframe": ["src"],
             "source": ["src", "srcset"], "audio": ["src"], "video": ["src", "poster"], "embed": ["src"],
             "object": ["data"]}

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in self.LOADS.get(tag, []):
            if attrs.get(name):
                self.urls.extend(u.strip().split()[0] for u in attrs[name].split(",") if u.strip())
        if attrs.get("style"):
            self.urls.extend(css_urls(attrs["style"]))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.urls.extend(css_urls(data))


def css_urls(css: str) -> list[str]:
    """The files a stylesheet loads: url(...) (fonts, images) and @import, data: URIs left out."""
    urls = [m.strip("'\" ") for m in re.findall(r"url\(\s*([^)]*?)\s*\)", css)]
    urls += re.findall(r"@import\s+[\"']([^\"']+)[\"']", css)
    return [u for u in urls if not u.lower().startswith("data:")]


def test_the_site_builds_with_warnings_as_errors(site):
    assert config().get("strict") is True  # a plain `mkdocs build` is strict too
    assert (site / "index.html").is_file()
    for page in nav_pages(config()["nav"]):
        built = site / (page[:-3] + "/index.html" if page != "index.md" else "index.html")
        assert built.is_file(), f"{page} was not built to {built}"


def test_a_broken_link_or_anchor_fails_the_build(tmp_path):
    # The same site with one broken link and one broken anchor: both must stop the build,
    # with `--strict` and without it (mkdocs.yml's own `strict: true`).
    shutil.copy(REPO / "mkdocs.yml", tmp_path / "mkdocs.yml")
    shutil.copytree(REPO / "docs", tmp_path / "docs")
    for broken, name in (("[gone](no-such-page.md)", "no-such-page.md"), ("[gone](outputs.md#no-such-anchor)", "no-such-anchor")):
        index = tmp_path / "docs" / "index.md"
        index.write_text((REPO / "docs" / "index.md").read_text() + f"\n{broken}\n")
        for extra in (["--strict"], []):
            result = mkdocs_build(tmp_path, tmp_path / "site", *extra)
            output = result.stdout + result.stderr
            assert result.returncode != 0, (broken, extra, output)
            assert name in output and "Aborted" in output, output


def test_every_page_in_the_nav_exists_and_every_page_is_in_the_nav():
    pages = nav_pages(config()["nav"])
    assert pages and pages[0] == "index.md"
    assert len(pages) == len(set(pages)), "a page is listed twice"
    missing = [p for p in pages if not (REPO / "docs" / p).is_file()]
    assert not missing, f"pages in mkdocs.yml's nav but not in docs/: {missing}"
    on_disk = sorted(str(p.relative_to(REPO / "docs")) for p in (REPO / "docs").rglob("*.md"))
    assert sorted(pages) == on_disk


def test_the_built_site_loads_nothing_from_the_network(site):
    pages = sorted(site.rglob("*.html"))
    assert site / "index.html" in pages and len(pages) >= len(nav_pages(config()["nav"]))
    remote = []
    for page in pages:
        parser = Resources()
        parser.feed(page.read_text())
        assert parser.urls, f"{page} loads nothing: the parser missed its scripts and styles"
        remote += [(str(page.relative_to(site)), url) for url in parser.urls if REMOTE.match(url)]
    for sheet in sorted(site.rglob("*.css")):
        remote += [(str(sheet.relative_to(site)), url) for url in css_urls(sheet.read_text()) if REMOTE.match(url)]
    assert not remote, f"the site loads from the network (it must open offline): {remote}"


def test_the_resource_check_sees_a_cdn():
    # The check above must catch what a theme's CDN option would add.
    parser = Resources()
    parser.feed('<link rel="stylesheet" href="https://cdn.example/x.css"><script src="//cdn.example/x.js"></script>'
                '<style>@font-face { src: url("https://fonts.example/f.woff2") }</style><img src="img/a.png">')
    assert [u for u in parser.urls if REMOTE.match(u)] == [
        "https://cdn.example/x.css", "//cdn.example/x.js", "https://fonts.example/f.woff2"]
    assert css_urls("a { background: url(data:image/svg+xml,%3csvg xmlns='http://www.w3.org/2000/svg'%3e) }") == []


def test_the_readme_is_short_and_keeps_the_two_commands():
    readme = (REPO / "README.md").read_text()
    lines = readme.splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines (at most {README_MAX_LINES})"
    assert BACKFILL_COMMAND in lines
    # CI runs the README's test command exactly as written there
    ci_command = (REPO / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci_command in lines, ci_command


def test_the_readmes_links_into_docs_exist():
    readme = (REPO / "README.md").read_text()
    targets = re.findall(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)", readme)
    local = [t.split("#")[0] for t in targets if not REMOTE.match(t) and not t.lower().startswith("mailto:")]
    into_docs = [t for t in local if t.startswith(("docs/", "./docs/"))]
    assert into_docs, "the README links to no page of docs/"
    broken = [t for t in local if t and not (REPO / t).is_file()]
    assert not broken, f"README.md links to missing files: {broken}"
    # the picture is there, and small
    assert "docs/img/lifecycle.png" in into_docs
    assert (REPO / "docs" / "img" / "lifecycle.png").stat().st_size < 300_000
    # and every page of the site is reachable from it
    assert {t.removeprefix("./").removeprefix("docs/") for t in into_docs} >= set(nav_pages(config()["nav"]))
