"""A pybtex style whose labels are author-year, like the book's citations.

``{cite:p}`` renders "(Zhou et al., 2016)" (``bibtex_reference_style: author_year``);
this style gives the bibliography the same labels, "[Zhou et al., 2016]", instead of
the default alphabetic "[ZKL+16]". Use it with ``:style: authoryear`` on the
``{bibliography}`` directive.
"""

from collections import Counter

from pybtex.plugin import register_plugin
from pybtex.richtext import Text
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.sorting import BaseSortingStyle


def _plain(latex):
    """A LaTeX fragment ("Vi{\\'e}gas", "{SUALAB}") as plain text."""
    return Text.from_latex(latex).render_as("text")


def _surnames(entry):
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    return [_plain(" ".join(person.prelast_names + person.last_names)) for person in people]


def _label(entry):
    names = _surnames(entry)
    if len(names) > 1 and names[-1] == "others":  # "and others" in the .bib file
        names = names[:1] + ["", ""]
    if not names:
        who = _plain(entry.fields.get("organization", entry.fields.get("title", "Anon.")))
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabelStyle(BaseLabelStyle):
    """Labels "Zhou et al., 2016"; two entries with one label get "2017a", "2017b"."""

    def format_labels(self, sorted_entries):
        sorted_entries = list(sorted_entries)
        labels = [_label(entry) for entry in sorted_entries]
        repeated = {label for label, count in Counter(labels).items() if count > 1}
        seen = Counter()
        for label in labels:
            if label in repeated:
                seen[label] += 1
                label = f"{label}{'abcdefghijklmnopqrstuvwxyz'[seen[label] - 1]}"
            yield label


class AuthorYearSortingStyle(BaseSortingStyle):
    """Alphabetical by label, ignoring case, so that "arclab" sits among the A's."""

    def sorting_key(self, entry):
        return (_label(entry).casefold(), entry.fields.get("title", "").casefold())


class AuthorYearStyle(UnsrtStyle):
    """pybtex's ``unsrt`` entries (with URL, DOI and arXiv links), sorted by author and
    year, labelled author-year."""

    default_label_style = AuthorYearLabelStyle
    default_sorting_style = AuthorYearSortingStyle


def register():
    register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle)
