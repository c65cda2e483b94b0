"""Lay out the collection at <dest>/ansible_collections/vmo/rbac for ansible-test sanity.

Usage:
    python tests/tools/sanity_tree.py DEST --artifact vmo-rbac-X.Y.Z.tar.gz
    python tests/tools/sanity_tree.py DEST --checkout
Prints the collection directory it prepared.

What is tested (`make sanity` picks with SANITY_SCOPE):
  --artifact  (default) the collection as `ansible-galaxy collection build` packs it, i.e. what
              users install and what a Galaxy/Automation Hub import runs sanity on: the checkout
              minus galaxy.yml's build_ignore (the pytest suites, the control plane harness,
              benchmarks, fixtures and dev tools are not part of it).
  --checkout  every file git lists (tracked and new, minus .gitignore'd local state): adds the
              test tree above, whose Python ansible-test then holds to the collection's rules.

Why a separate tree and not the link .build/collections/ansible_collections/vmo/rbac: ansible-test
finds the collection from os.getcwd(), which resolves symlinks, so from the link it sees the
checkout (no "ansible_collections" parent) and refuses to start; and the checkout holds .venv,
.tools, .build and .controlplane.

ansible-test lists the tree's files with git: it walks up to the nearest .git, which for a tree
under the checkout's ignored .build/ would be the checkout's own, where `git ls-files` lists
nothing and every target is skipped. So the tree gets its own empty repository (`git init`, no
commits); ansible-test lists untracked files (--others --exclude-standard), here every file.

The tree is updated in place: files whose content and mode are unchanged are not rewritten,
stale files are removed, and tests/output (ansible-test's results) is kept.
"""

import argparse
import os
import shutil
import stat
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NAMESPACE, NAME = "vmo", "rbac"
KEEP = ("tests/output", ".git")  # paths in the tree that are never deleted
LOCAL_STATE = {".git", ".venv", ".tools", ".build", ".controlplane", ".cache", ".pytest_cache",
               ".hypothesis", ".ansible", "reports"}


class Entry:
    """One file of the source: its bytes and mode, or a symlink target."""

    def __init__(self, mode, data=None, link=None):
        self.mode, self.data, self.link = mode, data, link


def from_artifact(path):
    entries = {}
    with tarfile.open(path) as tar:
        for member in tar.getmembers():
            name = os.path.normpath(member.name)
            if name.startswith(("/", "..")):
                sys.exit("sanity_tree: unsafe path in %s: %s" % (path, member.name))
            if member.issym():
                entries[name] = Entry(0, link=member.linkname)
            elif member.isfile():
                entries[name] = Entry(member.mode & 0o7777, data=tar.extractfile(member).read())
    return entries


def from_checkout():
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         cwd=ROOT, check=True, capture_output=True).stdout
    entries = {}
    for name in out.decode().split("\0"):
        # tracked files deleted in the working tree are still listed by --cached; local state is
        # dropped by name too (".venv/" in .gitignore does not match a .venv that is a symlink)
        path = ROOT / name
        if not name or name.split("/")[0] in LOCAL_STATE:
            continue
        if path.is_symlink():
            entries[name] = Entry(0, link=os.readlink(path))
        elif path.is_file():
            entries[name] = Entry(stat.S_IMODE(path.stat().st_mode), data=path.read_bytes())
    return entries


def kept(rel):
    return any(rel == k or rel.startswith(k + "/") for k in KEEP)


def remove(path):
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def sync(entries, dest):
    for rel, entry in sorted(entries.items()):
        target = dest / rel
        if entry.link is not None:  # links stay links (the 'symlinks' sanity test checks them)
            if target.is_symlink() and os.readlink(target) == entry.link:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            remove(target)
            os.symlink(entry.link, target)
            continue
        if target.is_file() and not target.is_symlink() \
                and stat.S_IMODE(target.stat().st_mode) == entry.mode and target.read_bytes() == entry.data:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        remove(target)
        target.write_bytes(entry.data)
        os.chmod(target, entry.mode)

    # remove what the source no longer has (bottom-up, so emptied directories go too)
    for dirpath, dirnames, filenames in os.walk(dest, topdown=False):
        rel_dir = os.path.relpath(dirpath, dest)
        if rel_dir != "." and kept(rel_dir):
            continue
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            rel = os.path.normpath(os.path.join(rel_dir, name))
            if rel not in entries and not kept(rel):
                os.unlink(os.path.join(dirpath, name))
        for name in dirnames:
            path = Path(dirpath) / name
            rel = os.path.normpath(os.path.join(rel_dir, name))
            if not path.is_symlink() and not kept(rel) and not any(path.iterdir()):
                path.rmdir()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("dest", type=Path, help="the directory that gets ansible_collections/vmo/rbac")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--artifact", type=Path, help="a collection tarball from ansible-galaxy collection build")
    source.add_argument("--checkout", action="store_true", help="the files git lists in this checkout")
    args = parser.parse_args()

    dest = args.dest.resolve() / "ansible_collections" / NAMESPACE / NAME
    if dest == ROOT or (ROOT in dest.parents and ROOT / ".build" not in dest.parents):
        sys.exit("sanity_tree: put the tree outside the checkout or under its .build/")
    entries = from_artifact(args.artifact) if args.artifact else from_checkout()
    dest.mkdir(parents=True, exist_ok=True)
    sync(entries, dest)
    if not (dest / ".git").exists():
        subprocess.run(["git", "init", "--quiet", str(dest)], check=True)
    print(dest)


if __name__ == "__main__":
    main()
