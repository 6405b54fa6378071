"""One escaping function per output format, for every name and string symnet did not write.

Layer and model names come from model files, input names and formulas from users: all of them
reach a report through these functions and nowhere else. Each one makes any string inert in its
format: it shows as text and never starts a command (TeX), a tag or handler (HTML, Markdown), a
code span (Markdown) or a terminal escape sequence.
"""

from __future__ import annotations

import re

__all__ = ["MAX_NAME", "TEX_SCRIPTS", "csv_cell", "html_text", "markdown_code_fence",
           "markdown_text",
           "safe_identifier", "terminal_text", "tex_script_preamble", "tex_scripts", "tex_text",
           "tex_unsettable", "xml_attribute", "xml_text"]

#: Names longer than this are shortened (with their length stated) wherever they are shown.
MAX_NAME = 200

_TEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}",
                "|": r"$|$", '"': "''"}
_TEX_UNICODE = {"γ": r"$\gamma$", "β": r"$\beta$", "μ": r"$\mu$", "σ": r"$\sigma$",
                "ε": r"$\varepsilon$", "√": r"$\surd$", "²": r"$^2$", "∘": r"$\circ$",
                "⊙": r"$\odot$", "⊘": r"$\oslash$", "→": r"$\to$", "−": "-", "·": r"$\cdot$",
                "≤": r"$\le$", "≥": r"$\ge$", "×": r"$\times$", "∞": r"$\infty$", "’": "'",
                "…": r"\dots{}", "–": "--", "—": "---", "⋯": r"$\cdots$", "α": r"$\alpha$",
                "θ": r"$\theta$", "𝟙": r"$\mathbf{1}$", "⋆": r"$\star$", "ⁿ": r"$^n$",
                "δ": r"$\delta$", "η": r"$\eta$", "∂": r"$\partial$", "Σ": r"$\Sigma$",
                "′": r"$'$", "ᵀ": r"$^\top$", "ⱼ": r"$_j$", "½": r"$\frac{1}{2}$",
                **{d: f"$_{{{k}}}$" for k, d in enumerate("₀₁₂₃₄₅₆₇₈₉")},
                **{d: f"$^{{{k}}}$" for k, d in enumerate("⁰¹²³⁴⁵⁶⁷⁸⁹")},
                "⁽": r"$^($", "⁾": r"$^)$"}


def _shorten(text: str, limit: int | None) -> str:
    if limit is not None and len(text) > limit:
        return f"{text[:limit]}… ({len(text):,} characters)"
    return text


#: Combining accents (after NFD) -> the LaTeX accent command that sets them in any font
#: encoding (OT1 included, so a report or a sheet needs no package for them).
_TEX_ACCENTS = {"\u0300": "`", "\u0301": "'", "\u0302": "^", "\u0303": "~", "\u0304": "=",
                "\u0306": "u", "\u0307": ".", "\u0308": '"', "\u030a": "r", "\u030b": "H",
                "\u030c": "v", "\u0327": "c", "\u0323": "d", "\u0331": "b"}
#: Latin letters with no decomposition, as LaTeX's text commands (all in OT1).
_TEX_LETTERS = {"Ø": r"\O{}", "ø": r"\o{}", "ß": r"\ss{}", "Æ": r"\AE{}", "æ": r"\ae{}",
                "Œ": r"\OE{}", "œ": r"\oe{}", "Ł": r"\L{}", "ł": r"\l{}", "ı": r"\i{}",
                "ȷ": r"\j{}", "Å": r"\AA{}", "å": r"\aa{}", "¡": r"!`", "¿": r"?`"}
#: Scripts a LaTeX engine sets with a standard font encoding: name, encoding, the Debian
#: package of TeX Live that has it, and the range of Unicode it covers.
TEX_SCRIPTS = (("Cyrillic", "T2A", "texlive-lang-cyrillic", 0x0400, 0x04FF),
               ("Greek", "LGR", "texlive-lang-greek", 0x0370, 0x03FF))


def _tex_script(ch: str) -> tuple[str, str, str, int, int] | None:
    code = ord(ch)
    return next((s for s in TEX_SCRIPTS if s[3] <= code <= s[4]), None)


def _tex_latin(ch: str) -> str | None:
    """A Latin letter as LaTeX that any encoding sets (``é`` -> ``\\'{e}``), or ``None``."""
    import unicodedata

    if ch in _TEX_LETTERS:
        return _TEX_LETTERS[ch]
    parts = unicodedata.normalize("NFD", ch)
    base, marks = parts[0], parts[1:]
    if not marks or not ("A" <= base <= "Z" or "a" <= base <= "z" or base in "ıȷ") or any(
            m not in _TEX_ACCENTS for m in marks):
        return None
    out = {"i": r"\i{}", "j": r"\j{}"}.get(base, base) if marks[0] in _TEX_ACCENTS and \
        base in "ij" and _TEX_ACCENTS[marks[0]] not in "cdb" else base
    for m in marks:
        out = f"\\{_TEX_ACCENTS[m]}{{{out}}}"
    return out


def tex_unsettable(text: object, scripts: bool = True) -> list[str]:
    """The characters of ``text`` that :func:`tex_text` cannot set (it shows them as ``?``):
    with ``scripts``, Greek and Cyrillic are settable."""
    import unicodedata

    out = []
    for ch in str(text):
        if ch in _TEX_SPECIAL or ch in _TEX_UNICODE or " " <= ch <= "~" or ch in "\t\n" \
                or _tex_latin(ch) is not None or (scripts and _tex_script(ch) is not None) \
                or unicodedata.category(ch) in ("Cc", "Cf"):  # control: shown as ?, no letter
            continue
        out.append(ch)
    return out


def tex_scripts(text: object) -> list[tuple[str, str, str, int, int]]:
    """The scripts other than Latin that ``text`` is written in (see :data:`TEX_SCRIPTS`)."""
    found = {s for ch in str(text) if (s := _tex_script(ch)) is not None}
    return [s for s in TEX_SCRIPTS if s in found]


def tex_text(text: object, limit: int | None = MAX_NAME, *, scripts: bool = False) -> str:
    """Any string as LaTeX text: special characters escaped, Latin letters with accents as
    LaTeX accent commands (``Émile`` -> ``\\'{E}mile``: set in any font encoding, and read
    back by ``pdftotext``), others shown or as ``?``.

    ``scripts``: Greek and Cyrillic words are set in their font encodings
    (``{\\fontencoding{LGR}\\selectfont ...}``, ``T2A``): the document must declare them
    (:func:`tex_script_preamble`). Characters that no standard encoding sets (and control
    characters) become ``?`` — :func:`tex_unsettable` lists them, for a caller that must
    refuse rather than show a ``?``. TeX's ``^^`` notation cannot start, since ``^`` is
    escaped.
    """
    out = []
    run: list[str] = []
    encoding = ""

    def flush() -> None:
        nonlocal encoding
        if run:
            out.append(f"{{\\fontencoding{{{encoding}}}\\selectfont {''.join(run)}}}")
            run.clear()
        encoding = ""

    for ch in _shorten(str(text), limit):
        script = _tex_script(ch) if scripts else None
        if script is not None and ch not in ("\u0387",):
            if encoding and encoding != script[1]:
                flush()
            encoding = script[1]
            run.append(ch)
            continue
        if run and ch == " ":
            run.append(ch)
            continue
        flush()
        latin = None if (" " <= ch <= "~" or ch in _TEX_SPECIAL or ch in _TEX_UNICODE) \
            else _tex_latin(ch)
        if ch in _TEX_SPECIAL:
            out.append(_TEX_SPECIAL[ch])
        elif ch in _TEX_UNICODE:
            out.append(_TEX_UNICODE[ch])
        elif " " <= ch <= "~":
            out.append(ch)
        elif ch in "\t\n":
            out.append(" ")
        elif latin is not None:
            out.append(latin)
        else:
            out.append("?")
    flush()
    return "".join(out)


def tex_script_preamble(texts: object) -> str:
    """The ``\\usepackage[...]{fontenc}`` line a document needs for the Greek and Cyrillic in
    ``texts`` set by ``tex_text(..., scripts=True)`` (empty when there are none)."""
    found = tex_scripts(" ".join(map(str, texts)) if not isinstance(texts, str) else texts)
    if not found:
        return ""
    # cmap first: it gives the fonts of these encodings a Unicode table, so that the PDF's
    # text (pdftotext, copy and paste, search) is the name, not its glyph codes
    return (r"\usepackage{cmap}" + "\n"
            + rf"\usepackage[{','.join(s[1] for s in found)},OT1]{{fontenc}}")


def html_text(text: object, limit: int | None = MAX_NAME) -> str:
    """Any string as HTML text (also safe in a quoted attribute); control characters shown as
    ``\\xNN``."""
    from html import escape

    return escape(_visible(_shorten(str(text), limit)), quote=True)


def xml_text(text: object, limit: int | None = MAX_NAME) -> str:
    """Any string as XML character data: ``<&>`` escaped, and the control characters XML 1.0
    forbids shown as ``\\xNN`` (so the document stays well-formed)."""
    from xml.sax.saxutils import escape

    return escape(_visible(_shorten(str(text), limit)))


def xml_attribute(text: object, limit: int | None = MAX_NAME) -> str:
    """Any string as a quoted XML attribute value, quotes included."""
    from xml.sax.saxutils import quoteattr

    return quoteattr(_visible(_shorten(str(text), limit)))


_MARKDOWN_PUNCT = set("\\`*_{}[]()#+-.!|~:\"'")


def markdown_text(text: object, limit: int | None = MAX_NAME) -> str:
    """Any string as Markdown inline text: punctuation backslash-escaped, ``<``, ``>`` and ``&``
    as entities (so no raw HTML reaches a viewer), control characters shown as ``\\xNN``."""
    out = []
    for ch in _visible(_shorten(str(text), limit)):
        if ch == "<":
            out.append("&lt;")
        elif ch == ">":
            out.append("&gt;")
        elif ch == "&":
            out.append("&amp;")
        elif ch in _MARKDOWN_PUNCT:
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def markdown_code_fence(text: str) -> str:
    """A fenced code block whose fence is longer than any run of backticks inside it."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{_visible(text, keep_newlines=True)}\n{fence}"


def terminal_text(text: object, limit: int | None = None, *, lines: bool = False) -> str:
    """Any string safe to print on a terminal: control characters (escape sequences included)
    shown as ``\\xNN`` / ``\\uNNNN``, never sent raw (``lines``: newlines kept)."""
    return _visible(_shorten(str(text), limit), keep_newlines=lines)


def _visible(text: str, keep_newlines: bool = False) -> str:
    out = []
    for ch in text:
        code = ord(ch)
        if keep_newlines and ch == "\n":
            out.append(ch)
        elif code < 0x20 or 0x7F <= code < 0xA0 or ch in "\u2028\u2029\u200e\u200f\u202a" \
                "\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069":
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e"
                        "\u2066-\u2069]")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def csv_cell(text: object) -> str:
    """Any string as a cell of a CSV that a spreadsheet may open: control characters shown as
    ``\\xNN`` (so the file is also safe to print), and a cell that a spreadsheet would run as a
    formula (one that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return, even
    after spaces) prefixed with ``'`` — unless it is a plain number such as ``-2.5``.
    The csv module then quotes it as CSV needs."""
    value = str(text)
    if _PLAIN_NUMBER.fullmatch(value.strip()):
        return value
    if value[:1] in ("\t", "\r") or value.lstrip(" \t\r\n")[:1] in ("=", "+", "-", "@"):
        value = "'" + value
    # most cells have nothing to show as \xNN: a class of 100,000 rows is written in a blink
    return _visible(value) if _INVISIBLE.search(value) else value


_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def safe_identifier(name: str) -> bool:
    """Whether ``name`` is an ASCII identifier (letters, digits, ``_``; a letter first): the
    names that formulas, LaTeX, MathML and the formula parser all read the same way."""
    return bool(_IDENTIFIER.fullmatch(name)) and len(name) <= 64
