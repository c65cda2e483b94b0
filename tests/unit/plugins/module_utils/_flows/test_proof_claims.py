"""README, docs/validate.md and vmo_rbac_validate's documentation say what a validation proves and what a
SubjectAccessReview cannot see (issue 19): each of them names every blind spot, and the links resolve."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from ansible_collections.vmo.rbac.plugins.modules import vmo_rbac_validate

ROOT = Path(__file__).resolve().parents[5]

# What a SubjectAccessReview cannot see, each with the words that name it (lower case).
BLIND_SPOTS = {
    "the groups of a person's token": ("identity provider",),
    "admission webhooks": ("admission",),
    "node-level access": ("kubelet",),
    "credentials outside RBAC": ("system:masters", "palette", "ssh key"),
    "aggregated API servers' own authorization": ("aggregated api server",),
    "ServiceAccount tokens already minted": ("minted",),
    "changes after the run": ("after the run",),
    "VMO capabilities either answer passes": ("(y)",),
}


def _module_doc_text():
    doc = yaml.safe_load(vmo_rbac_validate.DOCUMENTATION)
    return " ".join(doc["description"])


def _section(text, heading):
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start:end if end > 0 else None]


def _flat(text):
    return re.sub(r"\s+", " ", text).lower()


def test_every_blind_spot_is_named_in_readme_docs_and_module_documentation():
    readme = (ROOT / "README.md").read_text()
    validate_md = (ROOT / "docs" / "validate.md").read_text()
    texts = {
        "README.md": _flat(readme[readme.index("**What is proven, and what is not**"):readme.index("| piece |")]),
        "docs/validate.md": _flat(_section(validate_md, "## What is proven") +
                                  _section(validate_md, "## What a SubjectAccessReview cannot see")),
        "vmo_rbac_validate DOCUMENTATION": _flat(_module_doc_text()),
    }
    missing = ["%s: %s" % (where, spot) for where, text in texts.items()
               for spot, words in BLIND_SPOTS.items() if not all(w in text for w in words)]
    assert not missing, missing
    for where, text in texts.items():
        assert "resourcenames" in text or "object a rule names" in text, where
        assert "audit_exclusive" in text, where


def test_the_links_to_what_is_proven_resolve():
    readme = (ROOT / "README.md").read_text()
    for doc, anchor in re.findall(r"\(docs/(validate|personas)\.md#([a-z0-9-]+)\)", readme):
        headings = re.findall(r"^#+ (.+)$", (ROOT / "docs" / ("%s.md" % doc)).read_text(), re.M)
        slugs = {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-") for h in headings}
        assert anchor in slugs, (doc, anchor)
