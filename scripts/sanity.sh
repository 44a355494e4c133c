#!/usr/bin/env bash
# ansible-test sanity needs the collection at .../ansible_collections/pirack/cluster
# (a real path, not a link), so run it on a copy of the tracked files.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=build/sanity/ansible_collections/pirack/cluster
rm -rf build/sanity
mkdir -p "$dest"
git ls-files -z --cached --others --exclude-standard | tar --null -T - -c | tar -x -C "$dest"
# ansible-test downloads a pip bootstrap script from a server CI cannot
# reach; put our offline equivalent where it looks for a cached copy.
pip_version=$(python3 -c 'import re, ansible_test._internal.python_requirements as r
print(re.search(r"pip=.([0-9.]+).", open(r.__file__).read()).group(1))')
mkdir -p ~/.ansible/test/cache
cp scripts/sanity_bootstrap_pip.py ~/.ansible/test/cache/get_pip_${pip_version//./_}.py
cd "$dest"
git init -q && git add -A >/dev/null   # ansible-test lists files through git
# The tests that run offline with the controller's Python; each one names
# what it checks so a failure says which gate broke.
tests=(validate-modules compile import yamllint pep8 action-plugin-docs
       ansible-doc empty-init line-endings no-assert no-get-exception
       no-illegal-filenames no-smart-quotes replace-urlopen shebang symlinks
       use-argspec-type-path use-compat-six runtime-metadata)
args=()
for t in "${tests[@]}"; do args+=(--test "$t"); done
exec ansible-test sanity --python "$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')" \
    --requirements "${args[@]}" --color no
