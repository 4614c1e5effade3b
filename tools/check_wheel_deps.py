"""Check that a folder of wheels is complete for a machine that installs them with
``pip install --no-index --no-deps`` next to the packages it already has.

    python tools/check_wheel_deps.py .whl --have torch numpy ... [--python 3.12]

``--no-deps`` installs exactly the wheels given, so a dependency that is neither among them
nor on the machine only shows when the import fails there, on borrowed GPU time. This reads
each wheel's ``Requires-Dist`` (markers evaluated for Linux x86_64 and ``--python``, extras
left out) and exits 1 naming every requirement that nothing satisfies. Called by
``tools/fetch_wheels.sh``.
"""
import argparse
import os.path as osp
import sys
import zipfile
from email.parser import Parser
from glob import glob
from typing import Dict, Iterable, List

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

# distributions that install the same import package, so either satisfies the other's
# requirement (mmengine asks for opencv-python; the device machine has the headless build)
SAME_MODULE = {
    'opencv-python': ('opencv-python-headless', 'opencv-contrib-python',
                      'opencv-contrib-python-headless'),
}


def wheel_metadata(path: str):
    with zipfile.ZipFile(path) as zf:
        name = next(n for n in zf.namelist() if n.endswith('.dist-info/METADATA'))
        return Parser().parsestr(zf.read(name).decode('utf-8'))


def missing_requirements(wheels: Iterable[str], have: Iterable[str],
                         python: str = '3.12') -> Dict[str, List[str]]:
    """{wheel file name: [requirement strings nothing satisfies]} for the wheels that lack any."""
    metas = {osp.basename(w): wheel_metadata(w) for w in wheels}
    present = {canonicalize_name(n) for n in have}
    present |= {canonicalize_name(m['Name']) for m in metas.values()}
    env = dict(python_version=python, python_full_version=f'{python}.0', sys_platform='linux',
               platform_system='Linux', platform_machine='x86_64', os_name='posix',
               implementation_name='cpython', platform_python_implementation='CPython',
               extra='')
    missing = {}
    for wheel, meta in sorted(metas.items()):
        for line in meta.get_all('Requires-Dist') or []:
            req = Requirement(line)
            if req.marker is not None and not req.marker.evaluate(env):
                continue
            name = canonicalize_name(req.name)
            if name in present or present & set(SAME_MODULE.get(name, ())):
                continue
            missing.setdefault(wheel, []).append(line)
    return missing


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('folder', help='folder of .whl files')
    parser.add_argument('--have', nargs='*', default=[],
                        help='distributions the target machine already has')
    parser.add_argument('--python', default='3.12', help='target Python version (default 3.12)')
    args = parser.parse_args(argv)
    wheels = sorted(glob(osp.join(args.folder, '*.whl')))
    if not wheels:
        print(f'error: no .whl files in {args.folder}', file=sys.stderr)
        return 1
    missing = missing_requirements(wheels, args.have, args.python)
    for wheel, reqs in missing.items():
        print(f'error: {wheel} needs {", ".join(reqs)}: neither in {args.folder} nor on the '
              'machine; add it to tools/fetch_wheels.sh', file=sys.stderr)
    if missing:
        return 1
    print(f'{len(wheels)} wheels in {args.folder}: every requirement is among them or on the '
          'machine')
    return 0


if __name__ == '__main__':
    sys.exit(main())
