"""The Jupyter Book: sources consistent, built from a clean copy with zero warnings, and complete.

Fast checks on the sources run without building. The rest use the session fixture
``built_book`` (tests/conftest.py), which builds the book once per test run, exactly as
``make book`` does, in a clean copy of the repository.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup
from helpers import ASSIGNMENTS, CHAPTERS, build_book, nbgrader_cell, toc_files
from prose_numbers import numbers_in_prose

REPO = Path(__file__).resolve().parent.parent
BOOK = REPO / "book"

# The pages whose prose must state no number that a cell did not compute.
PROSE_PAGES = [*CHAPTERS, "glossary"]
CHINESE_TERMS = ["激活函数", "梯度消失", "饱和", "神经元死亡", "稀疏性", "非线性", "反向传播",
                 "链式法则", "批量归一化", "梯度爆炸", "零中心", "单侧饱和"]
# (bibtex key, a word of its title) for the papers the course promises to cite.
REQUIRED_REFERENCES = {
    "lecun2012efficient": "BackProp", "nair2010rectified": "Rectified linear units",
    "glorot2011deep": "Deep sparse rectifier", "maas2013rectifier": "Rectifier nonlinearities",
    "he2015delving": "Delving deep", "xu2015empirical": "Empirical evaluation",
    "clevert2016fast": "exponential linear units", "klambauer2017self": "Self-normalizing",
    "hendrycks2016gaussian": "Gaussian error linear units",
    "ramachandran2017searching": "Searching for activation functions",
    "misra2019mish": "Mish", "goodfellow2013maxout": "Maxout networks",
    "fernandez2024telu": "TeLU", "kim2023tanh": "Tanh works better",
    "ioffe2015batch": "Batch normalization",
    "glorot2010understanding": "Understanding the difficulty",
    "kingma2015adam": "Adam", "cybenko1989": "superpositions of a sigmoidal",
    "hornik1991": "Approximation capabilities", "hochreiter1991": "Untersuchungen",
    "bengio1994learning": "long-term dependencies", "zhang2023dive": "Dive into Deep Learning",
    "cs231n": "CS231n",
}

book = pytest.mark.book
shared_build = pytest.mark.xdist_group("book")


def _bib_entries() -> dict[str, dict]:
    from pybtex.database import parse_file

    return dict(parse_file(str(BOOK / "references.bib")).entries)


def _soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def _main_text(path: Path) -> str:
    main = _soup(path).find("main") or _soup(path)
    return main.get_text(" ", strip=True)


def _load_extension(name: str):
    spec = importlib.util.spec_from_file_location(name, BOOK / "_ext" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------ sources (no build)


def test_toc_lists_every_page_in_reading_order():
    """Does _toc.yml list intro, chapters 1-5, problem sets, instructors, glossary and
    bibliography, in that order, and does every listed file exist?"""
    files = toc_files()
    expected_order = (["book/intro"] + [f"book/{c}" for c in CHAPTERS]
                      + [f"book/problem_sets/{a}" for a in ASSIGNMENTS]
                      + ["book/instructors/index", "book/glossary", "book/bibliography"])
    positions = [files.index(f) for f in expected_order]
    assert positions == sorted(positions), files
    assert "book/instructors/cluster" in files
    missing = [f for f in files if not (REPO / f"{f}.md").is_file()]
    assert not missing, f"listed in _toc.yml but missing: {missing}"


def test_every_cited_key_is_in_the_bibliography():
    """Does references.bib hold every key that a page cites with {cite} or {cite:t}/{cite:p}?"""
    entries = _bib_entries()
    cited = set()
    for page in BOOK.rglob("*.md"):
        for keys in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", page.read_text(encoding="utf-8")):
            cited.update(k.strip() for k in keys.split(","))
    assert cited, "no citations found: the pattern is wrong"
    assert sorted(cited - set(entries)) == []


def test_every_registry_reference_is_in_the_bibliography():
    """Does each activation's `reference` (the table's citation) name a references.bib key?"""
    from actlab.activations import REGISTRY

    keys = {a.reference for a in REGISTRY.values() if a.reference}
    assert sorted(keys - set(_bib_entries())) == []


def test_required_papers_are_in_the_bibliography_file():
    """Does references.bib contain the paper behind each activation, with the right title?"""
    entries = _bib_entries()
    for key, title_word in REQUIRED_REFERENCES.items():
        assert key in entries, key
        assert title_word.lower() in entries[key].fields["title"].lower(), key


def test_numpy_scalar_reprs_are_unwrapped_for_glue():
    """Does the build's glue shim turn numpy 2 scalar reprs back into plain numbers, and leave
    everything else alone?"""
    ext = _load_extension("offline_assets")
    assert ext.unwrap_numpy_repr("np.float64(1.5e-05)") == "1.5e-05"
    assert ext.unwrap_numpy_repr("np.float32(-2.0)") == "-2.0"
    assert ext.unwrap_numpy_repr("np.int64(3)") == "3"
    assert ext.unwrap_numpy_repr("np.True_") == "True"
    assert ext.unwrap_numpy_repr("'np.float64(1)' is text") == "'np.float64(1)' is text"
    assert ext.unwrap_numpy_repr("0.25") == "0.25"


def test_matplotlib_animation_cdn_stylesheet_is_stripped():
    """Is the CDN Font Awesome link that matplotlib puts before every jshtml animation
    removed, while the animation's own markup stays?"""
    from matplotlib._animation_data import JS_INCLUDE

    ext = _load_extension("offline_assets")
    cleaned = ext.strip_cdn_font_awesome(JS_INCLUDE + '<div class="animation"></div>')
    assert "font-awesome" not in cleaned and "//" not in cleaned.split("<script")[0]
    assert '<div class="animation"></div>' in cleaned and "function isInternetExplorer" in cleaned
    local = '<link rel="stylesheet" href="_static/font-awesome.css">'
    assert ext.strip_cdn_font_awesome(local) == local


def test_duplicate_page_scripts_are_dropped_in_order():
    """Does the page-script filter keep the first of two identical inline scripts (the
    doubled sphinx-thebe configuration, once with filename None and once with '') and every
    distinct script, in order?"""
    from sphinx.builders.html._assets import _JavaScript

    ext = _load_extension("offline_assets")
    config = _JavaScript(None, body="const THEBE_JS_URL = 'x'")
    scripts = [_JavaScript("a.js"), config, _JavaScript("b.js", **{"async": "async"}),
               _JavaScript("", body="const THEBE_JS_URL = 'x'"), _JavaScript("a.js"),
               _JavaScript(None, body="other")]
    unique = ext.dedupe_scripts(scripts)
    assert [(s.filename, s.attributes.get("body")) for s in unique] == [
        ("a.js", None), (None, "const THEBE_JS_URL = 'x'"), ("b.js", None), (None, "other")]


def test_mathjax_copy_is_complete_and_skipped_when_current(tmp_path):
    """Does the MathJax copy include the entry script and the CHTML fonts, and does a second
    build reuse it instead of copying again?"""
    ext = _load_extension("offline_assets")
    es5 = ext.mathjax_es5_dir()
    target = tmp_path / "mathjax"
    assert ext.copy_mathjax(es5, target) is True
    assert (target / "tex-chtml.js").stat().st_size > 100_000
    assert list((target / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))
    assert (target / "input" / "tex" / "extensions").is_dir()
    assert ext.copy_mathjax(es5, target) is False


def test_points_table_reads_graded_cells_from_a_notebook(tmp_path):
    """Does the problem-set directive find each graded cell, its part and who grades it, and
    refuse a notebook without graded cells?"""
    ext = _load_extension("problem_sets")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("## 1. First part (2 points)"),
        nbgrader_cell("def f(): pass", "f", solution=True),
        nbgrader_cell("assert f() is None", "test_f", grade=True, points=2),
        nbformat.v4.new_markdown_cell("## 2. Essay"),
        nbgrader_cell("YOUR ANSWER HERE", "essay", cell_type="markdown", solution=True, grade=True,
                      points=3),
    ]
    path = tmp_path / "ps.ipynb"
    nbformat.write(nb, str(path))
    cells = ext.graded_cells(path)
    assert [(c.part, c.grade_id, c.points, c.by_hand) for c in cells] == [
        ("1. First part (2 points)", "test_f", 2.0, False), ("2. Essay", "essay", 3.0, True)]
    nb.cells = nb.cells[:2]
    nbformat.write(nb, str(path))
    with pytest.raises(ValueError, match="no nbgrader-graded cells"):
        ext.graded_cells(path)


@pytest.mark.parametrize("page", PROSE_PAGES)
def test_prose_states_no_number_that_no_cell_computed(page):
    """Outside mathematics, glued values, citations and a short allowlist (years, layer and
    image sizes, chapter numbers), does the page's prose contain no number at all? A number
    written by hand would not follow its cell when a rebuild changes it."""
    found = numbers_in_prose((BOOK / f"{page}.md").read_text(encoding="utf-8"))
    assert [f"line {n.line}: {n.text!r} in {n.context!r}" for n in found] == []


def test_prose_scanner_finds_hand_written_numbers_and_spares_the_rest():
    """Does the scanner flag a number in a sentence but not one in math, glue, a citation, a
    code cell, inline code, a year or a layer size?"""
    page = """---
kernelspec:
  name: python3
---
# Title

The error fell to 0.25 in 2015 with widths 784-128-64-10, see {cite}`x2015` and $n = 3$.
Glued: {glue:text}`err:.2f`, in code `epochs=10`.

```{code-cell} ipython3
x = 12345
```

$$
y = 42
$$
"""
    found = numbers_in_prose(page)
    assert [n.text for n in found] == ["0.25"]


def _chapter_code_cells(chapter: str):
    import jupytext

    nb = jupytext.read(BOOK / f"{chapter}.md")
    return [c for c in nb.cells if c.cell_type == "code"]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_glue_and_plotting_cells_are_hidden_behind_a_toggle(chapter):
    """Is every cell that glues a value or draws a figure tagged hide-input, so the page
    reads as prose, math and figures, while the code a learner studies stays visible?"""
    shown = []
    for cell in _chapter_code_cells(chapter):
        draws = re.search(r"\bglue\(|plt\.subplots|plotting\.(?!use_style)\w+\(|display\(fig\)",
                          cell.source)
        tags = set(cell.metadata.get("tags", []))
        if draws and not tags & {"hide-input", "remove-input"}:
            shown.append(cell.source.splitlines()[0])
    assert shown == []


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_figure_cell_has_a_caption_name_and_alt_text(chapter):
    """Does every cell that draws a figure carry a caption, a name (for its number and
    cross-references) and alt text that says what the figure shows?"""
    for cell in _chapter_code_cells(chapter):
        meta = cell.metadata.get("mystnb", {})
        if "figure" not in meta:
            assert "display(fig)" not in cell.source, cell.source.splitlines()[0]
            continue
        assert meta["figure"].get("caption") and meta["figure"].get("name", "").startswith("fig-")
        alt = meta.get("image", {}).get("alt", "")
        assert len(alt.split()) >= 12 and not alt.endswith(".png"), meta["figure"]["name"]


# What running a page's cells in JupyterLab adds to the notebook it holds.
_KERNEL_METADATA = {"name": "python", "version": "3.11.2", "mimetype": "text/x-python",
                    "codemirror_mode": {"name": "ipython", "version": 3}}


@pytest.mark.parametrize("page", sorted(p.relative_to(BOOK).as_posix() for p in BOOK.rglob("*.md")))
def test_a_page_opened_and_saved_in_jupyterlab_keeps_its_bytes(page, tmp_path):
    """Opened as a notebook through jupytext (as the learner's Lab opens every `.md`), run, and
    saved, is the page's file byte for byte what it was, so that a learner who saves a chapter
    rewrites nothing?"""
    from jupytext import TextFileContentsManager

    for config in ("jupytext.toml", ".jupytext.toml", "pyproject.toml"):
        if (REPO / config).is_file():  # jupytext reads its settings from the folders above
            shutil.copy(REPO / config, tmp_path / config)
    (tmp_path / "book" / page).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(BOOK / page, tmp_path / "book" / page)
    contents = TextFileContentsManager(root_dir=str(tmp_path))
    model = contents.get(f"book/{page}", type="notebook", content=True)
    model["content"]["metadata"]["language_info"] = _KERNEL_METADATA
    for cell in model["content"]["cells"]:
        if cell["cell_type"] == "code":
            cell["execution_count"] = 1
            cell["outputs"] = [nbformat.v4.new_output("stream", name="stdout", text="ran\n")]
    contents.save(model, f"book/{page}")
    assert (tmp_path / "book" / page).read_bytes() == (BOOK / page).read_bytes()


def test_accessibility_repairs_label_summaries_and_bibliography_entries():
    """Does the build's accessibility extension name an icon-only <summary> (and leave one with
    text alone) and turn bibliography entries into list items?"""
    ext = _load_extension("accessibility")
    soup = BeautifulSoup('<details><summary><span class="toctree-toggle"><i></i></span></summary>'
                         '</details><details><summary>Part</summary></details>', "html.parser")
    ext.label_empty_summaries(soup)
    first, second = soup.find_all("summary")
    assert first["aria-label"] == ext.SUMMARY_LABEL and not second.get("aria-label")
    body = '<div role="list"><div class="citation" role="doc-biblioentry">A</div></div>'
    assert ext.fix_bibliography_roles(body) == ('<div role="list"><div class="citation" '
                                                'role="listitem">A</div></div>')


# ------------------------------------------------------------------ the built book


@book
@shared_build
def test_book_builds_with_zero_warnings(built_book):
    """Does `jupyter-book build . -W -n --keep-going` succeed on a clean copy, with no
    Sphinx warning at all?"""
    warnings = [line for line in built_book.log.splitlines() if re.search(r"\bWARNING: ", line)]
    assert built_book.returncode == 0, "\n".join(warnings) or built_book.log[-3000:]
    assert warnings == []
    assert "build succeeded" in built_book.log


@book
@shared_build
def test_every_toc_page_is_built(built_book):
    """Is there an HTML page for every file in the table of contents, and only for those
    (solutions, exercises, docs and tests are never parsed as pages)?"""
    for f in toc_files():
        assert (built_book.html / f"{f}.html").is_file(), f
    built = {p.relative_to(built_book.html).with_suffix("").as_posix()
             for p in built_book.html.rglob("*.html")}
    stray = {p for p in built if p.split("/")[0] in {"solutions", "exercises", "docs", "tests",
                                                      "benchmarks", "README", "actlab"}}
    assert stray == set()


@book
@shared_build
def test_no_executed_cell_raised_an_error(built_book):
    """Did every code cell of every chapter run, without an error output, when the book was
    executed?"""
    notebooks = sorted((built_book.root / "_build" / "jupyter_execute").rglob("*.ipynb"))
    names = {p.stem for p in notebooks}
    assert set(CHAPTERS) <= names, f"executed notebooks: {sorted(names)}"
    for path in notebooks:
        nb = nbformat.read(str(path), as_version=4)
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            assert cell.execution_count is not None, f"{path.name}: a cell did not run"
            errors = [o for o in cell.outputs if o.output_type == "error"]
            assert errors == [], f"{path.name}: {errors[0].ename}: {errors[0].evalue}"
    for chapter in CHAPTERS:
        page = _soup(built_book.html / "book" / f"{chapter}.html")
        assert page.select(".output.traceback, .output_error") == [], chapter


@book
@shared_build
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_figure_is_numbered_captioned_and_described(built_book, chapter):
    """Is every image of the chapter inside a numbered, captioned figure, with alt text that
    describes it (not a file path), one figure per figure cell, each file present?"""
    page = built_book.html / "book" / f"{chapter}.html"
    main = _soup(page).find("main")
    source = (BOOK / f"{chapter}.md").read_text(encoding="utf-8")
    figures = main.select("figure")
    assert len(figures) == source.count("name: fig-")
    for figure in figures:
        caption = figure.find("figcaption")
        assert caption is not None and re.match(
            r"Fig\. \d+\.\d+", caption.get_text(" ", strip=True))
    for img in main.find_all("img"):
        # The animation's player is labelled by the chapter.
        if img.get("id", "").startswith("_anim_img"):
            assert len(img.get("alt", "").split()) >= 5
            continue
        assert img.find_parent("figure") is not None, img.get("src")
        alt = img.get("alt", "")
        assert len(alt.split()) >= 12 and "/" not in alt.split()[0], alt
        assert (page.parent / img["src"]).resolve().is_file(), img["src"]


@book
@shared_build
def test_prose_numbers_are_formatted_numbers(built_book):
    """Are glued numbers rendered as plain numbers (never as `np.float64(...)`) on every page?"""
    for page in built_book.html.rglob("*.html"):
        assert "np.float64(" not in page.read_text(encoding="utf-8"), page


@book
@shared_build
def test_glossary_gives_each_chinese_term(built_book):
    """Is every listed Chinese term a glossary term (a <dt>) on the glossary page?"""
    page = _soup(built_book.html / "book" / "glossary.html")
    terms = {dt.get_text(" ", strip=True).rstrip("#").strip() for dt in page.find_all("dt")}
    assert [t for t in CHINESE_TERMS if t not in terms] == []


@book
@shared_build
def test_bibliography_page_lists_the_references(built_book):
    """Does the bibliography page render every required reference with its title?"""
    text = _main_text(built_book.html / "book" / "bibliography.html").lower()
    entries = _bib_entries()
    for key in REQUIRED_REFERENCES:
        title = re.sub(r"[{}]", "", entries[key].fields["title"]).lower()
        assert title[:30] in text, key


@book
@shared_build
def test_chapter_citations_link_to_the_bibliography(built_book):
    """Does a citation in chapter 4 link to an entry on the bibliography page?"""
    page = _soup(built_book.html / "book" / "04_variants.html")
    links = [a["href"] for a in page.find_all("a", href=True) if "bibliography.html#" in a["href"]]
    assert links


@book
@shared_build
def test_mathjax_is_served_from_the_build(built_book):
    """Does every page with mathematics load MathJax from _static, with its fonts, and does
    no page load a script or stylesheet from another host?"""
    assert (built_book.html / "_static" / "mathjax" / "tex-chtml.js").is_file()
    fonts = built_book.html / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2"
    assert len(list(fonts.glob("*.woff"))) > 10
    with_math = 0
    for page in built_book.html.rglob("*.html"):
        soup = _soup(page)
        external = [tag.get("src") or tag.get("href") for tag in soup.find_all(["script", "link"])
                    if tag.name == "script" or "stylesheet" in (tag.get("rel") or [])
                    if re.match(r"(https?:)?//", tag.get("src") or tag.get("href") or "")]
        assert external == [], f"{page.name}: {external}"
        scripts = [s.get("src", "") for s in soup.find_all("script")]
        if any("mathjax" in s.lower() for s in scripts):
            with_math += 1
            assert any(s.endswith("_static/mathjax/tex-chtml.js") for s in scripts), page.name
    assert with_math >= len(CHAPTERS)


@book
@shared_build
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_problem_set_page_links_the_student_notebook(built_book, assignment):
    """Does each problem-set page offer the student notebook for download, is the file in the
    build, is it the student version (no solutions), and does the page state its points?"""
    page_path = built_book.html / "book" / "problem_sets" / f"{assignment}.html"
    page = _soup(page_path)
    links = [a["href"] for a in page.select("a.download")
             if a["href"].endswith(f"{assignment}.ipynb")]
    assert links, "no download link"
    notebook = (page_path.parent / links[0]).resolve()
    assert notebook.is_file()
    nb = nbformat.read(str(notebook), as_version=4)
    source = "\n".join(c.source for c in nb.cells)
    assert "### BEGIN SOLUTION" not in source and "BEGIN HIDDEN TESTS" not in source
    assert page.select("table.nbgrader-points")
    assert re.search(r"Total: \d+(\.\d+)? points", _main_text(page_path))


def test_buttons_follow_the_one_repository_setting():
    """Do the repository and launch buttons switch on exactly when repository_url is set, and
    is a set URL kept while an empty one removes Binder and Colab?"""
    ext = _load_extension("repository_buttons")
    launch = {"binderhub_url": "https://mybinder.org",
              "colab_url": "https://colab.research.google.com",
              "notebook_interface": "jupyterlab"}
    off = ext.button_options({"repository_url": "", "launch_buttons": launch})
    assert off["use_repository_button"] is False and "repository_url" not in off
    assert off["launch_buttons"] == {"notebook_interface": "jupyterlab"}
    on = ext.button_options({"repository_url": "https://example.org/course",
                             "launch_buttons": launch})
    assert on["use_repository_button"] is True and on["launch_buttons"] == launch
    assert on["repository_url"] == "https://example.org/course"


def test_the_configured_book_has_no_placeholder_repository():
    """Is _config.yml's repository.url empty or a real setting, never the old placeholder?"""
    import yaml

    config = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
    assert "actlab-course" not in str(config["repository"].get("url"))
    assert "repository_buttons" in config["sphinx"]["local_extensions"]
    assert "use_repository_button" not in config.get("html", {})  # the extension decides


@book
@shared_build
def test_no_header_button_leads_to_an_unset_repository(built_book):
    """With repository.url unset, does no chapter page link to a repository, Binder or Colab?"""
    for chapter in CHAPTERS:
        soup = _soup(built_book.html / "book" / f"{chapter}.html")
        hrefs = [a["href"] for a in soup.find_all("a", href=True)]
        assert [h for h in hrefs
                if re.search(r"mybinder\.org|colab\.research|github\.com", h)] == []


TINY_PAGE = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
# A page

```{code-cell} ipython3
1 + 1
```
"""


@book
def test_setting_the_repository_shows_the_buttons_as_plain_links(tmp_path):
    """In a one-page book built with repository.url set, does the chapter offer the repository,
    Binder and Colab as links, without loading anything from those services?"""
    root = tmp_path / "tiny"
    (root / "_ext").mkdir(parents=True)
    (root / "_ext" / "repository_buttons.py").write_text(
        (BOOK / "_ext" / "repository_buttons.py").read_text(encoding="utf-8"), encoding="utf-8")
    (root / "page.md").write_text(TINY_PAGE, encoding="utf-8")
    (root / "_toc.yml").write_text("format: jb-book\nroot: page\n", encoding="utf-8")
    (root / "_config.yml").write_text(
        "title: tiny\nexecute:\n  execute_notebooks: 'off'\n"
        "repository:\n  url: https://github.com/example-owner/course\n  branch: main\n"
        "launch_buttons:\n  notebook_interface: jupyterlab\n  binderhub_url: https://mybinder.org\n"
        "  colab_url: https://colab.research.google.com\n"
        "sphinx:\n  local_extensions:\n    repository_buttons: _ext\n", encoding="utf-8")
    book = build_book(root, timeout=600)
    assert book.returncode == 0, book.log[-3000:]
    soup = _soup(book.html / "page.html")
    hrefs = [a["href"] for a in soup.find_all("a", href=True)]
    assert "https://github.com/example-owner/course" in hrefs
    assert any(h.startswith("https://mybinder.org/v2/") for h in hrefs)
    assert any(h.startswith("https://colab.research.google.com/") for h in hrefs)
    sources = [tag.get("src", "") for tag in soup.find_all(["script", "img", "iframe"])]
    assert [s for s in sources if "mybinder.org" in s or "colab.research" in s] == []


def _readme_workflow() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start, end = "<!-- workflow-start -->", "<!-- workflow-end -->"
    assert text.count(start) == 1 and text.count(end) == 1
    return text.split(start)[1].split(end)[0]


def test_learner_workflow_is_written_once_in_readme_and_included_by_the_book():
    """Is the learner's workflow written in README only, and does the intro and every
    problem-set page include it from there (instead of a copy that could drift)?"""
    workflow = _readme_workflow()
    assert "make lab" in workflow and "make validate FILE=" in workflow
    assert "Restart Kernel and Run All Cells…" in workflow  # the menu item as Lab 4 spells it
    pages = [BOOK / "intro.md", *(BOOK / "problem_sets" / f"{a}.md" for a in ASSIGNMENTS)]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert re.search(r"```\{include\} (\.\./)+README\.md\n"
                         r":start-after: <!-- workflow-start -->\n"
                         r":end-before: <!-- workflow-end -->\n```", text), page.name
        assert "make validate" not in text and "nbgrader validate" not in text, page.name


@book
@shared_build
@pytest.mark.parametrize("page", ["intro", *(f"problem_sets/{a}" for a in ASSIGNMENTS)])
def test_built_pages_show_the_learner_workflow(built_book, page):
    """Does the built intro and each problem-set page show the workflow's commands and menu?"""
    # Highlighted code is split into tokens, so compare without whitespace.
    text = re.sub(r"\s+", "", _main_text(built_book.html / "book" / f"{page}.html"))
    for phrase in ("make lab", "make validate FILE=mywork/ps1_nonlinearity/ps1_nonlinearity.ipynb",
                   "Restart Kernel and Run All Cells…", "actlab update"):
        assert re.sub(r"\s+", "", phrase) in text, (page, phrase)
