"""Mirror the checkout into <dest>/ansible_collections/vmo/rbac for ansible-test.

Why a copy and not the symlink at .build/collections/ansible_collections/vmo/rbac:
ansible-test finds the collection from os.getcwd(), which resolves symlinks, so
run from the link it sees /work/main (no "ansible_collections" parent) and
refuses to start.  And the checkout holds .venv, .tools, .build and
.controlplane, which ansible-test would otherwise walk.

Which files: the ones git would list (``git ls-files --cached --others
--exclude-standard``: tracked plus new untracked files, minus .gitignore'd local
state), i.e. exactly what ansible-test would test if it ran in the checkout
itself.  Without git (an unpacked tarball) we walk the tree and skip the local
state directories by name.

ansible-test lists the copy's files with git as well: it walks up from the
collection to the nearest .git, which for a copy under the checkout's ignored
.build/ would be the checkout's own, where `git ls-files` lists nothing (every
target skipped).  So the copy gets its own empty repository (``git init``, no
commits); ansible-test lists untracked files (--others --exclude-standard), which
in the copy is every file, minus the copied .gitignore's local state.

The mirror is incremental: unchanged files keep their mtime (ansible-test's
caches stay warm), stale files are removed, and the copy's tests/output (results
and caches of earlier runs) is left alone.

Usage: python tests/tools/sanity_tree.py DEST   (prints the collection path it prepared)
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NAMESPACE, NAME = "vmo", "rbac"
KEEP = ("tests/output", ".git")  # relative paths in the copy that are never deleted
SKIP_DIRS = {".git", ".venv", ".tools", ".build", ".controlplane", ".cache", ".pytest_cache",
             ".hypothesis", ".ansible", "__pycache__", "reports"}


def source_files():
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT, check=True, capture_output=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        files = []
        for dirpath, dirnames, filenames in os.walk(ROOT):
            rel = Path(dirpath).relative_to(ROOT)
            dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS and str(rel / d) not in KEEP]
            files.extend(str(rel / f) for f in filenames if not f.endswith((".pyc", ".tar.gz")))
        return sorted(os.path.normpath(f) for f in files)
    # tracked files deleted in the working tree are still listed by --cached
    return sorted(f for f in out.decode().split("\0") if f and ((ROOT / f).is_file() or (ROOT / f).is_symlink()))


def kept(rel):
    return any(rel == k or rel.startswith(k + "/") for k in KEEP)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    dest = Path(sys.argv[1]).resolve() / "ansible_collections" / NAMESPACE / NAME
    if dest == ROOT or (ROOT in dest.parents and ROOT / ".build" not in dest.parents):
        sys.exit("sanity_tree: put the copy outside the checkout or under its .build/")
    wanted = set(source_files())

    for rel in sorted(wanted):
        src, dst = ROOT / rel, dest / rel
        if src.is_symlink():  # keep links as links (the 'symlinks' sanity test checks them)
            target = os.readlink(src)
            if not (dst.is_symlink() and os.readlink(dst) == target):
                dst.parent.mkdir(parents=True, exist_ok=True)
                if dst.is_symlink() or dst.is_file():
                    dst.unlink()
                elif dst.is_dir():
                    shutil.rmtree(dst)
                os.symlink(target, dst)
            continue
        st = src.stat()
        try:
            dt = dst.lstat()
            if dst.is_file() and not dst.is_symlink() and dt.st_size == st.st_size \
                    and int(dt.st_mtime) == int(st.st_mtime) and dt.st_mode == st.st_mode:
                continue
        except FileNotFoundError:
            pass
        dst.parent.mkdir(parents=True, exist_ok=True)
        if dst.is_symlink() or dst.is_file():
            dst.unlink()
        elif dst.is_dir():
            shutil.rmtree(dst)
        shutil.copy2(src, dst)

    # remove what is no longer in the checkout (bottom-up, so empty dirs go too)
    for dirpath, dirnames, filenames in os.walk(dest, topdown=False):
        rel_dir = Path(dirpath).relative_to(dest)
        if kept(str(rel_dir)) and str(rel_dir) != ".":
            continue
        for f in filenames:
            rel = os.path.normpath(str(rel_dir / f))
            if rel not in wanted and not kept(rel):
                (Path(dirpath) / f).unlink()
        for d in dirnames:
            p = Path(dirpath) / d
            rel = os.path.normpath(str(rel_dir / d))
            if p.is_symlink():
                if rel not in wanted:
                    p.unlink()
            elif not kept(rel) and p.is_dir() and not any(p.iterdir()):
                p.rmdir()
    if not (dest / ".git").exists():
        subprocess.run(["git", "init", "--quiet", str(dest)], check=True)
    print(dest)


if __name__ == "__main__":
    main()
