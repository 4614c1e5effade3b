"""``tools/check_wheel_deps.py``: a wheel folder installed with ``--no-deps`` on the device
machine must hold every requirement the machine lacks (two were missing before it existed)."""
import importlib.util
import os.path as osp
import zipfile

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
spec = importlib.util.spec_from_file_location('check_wheel_deps',
                                              osp.join(ROOT, 'tools', 'check_wheel_deps.py'))
check_wheel_deps = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_wheel_deps)


def make_wheel(folder, name, requires=()):
    path = folder / f'{name}-1.0-py3-none-any.whl'
    meta = '\n'.join(['Metadata-Version: 2.1', f'Name: {name}', 'Version: 1.0'] +
                     [f'Requires-Dist: {r}' for r in requires]) + '\n'
    with zipfile.ZipFile(path, 'w') as zf:
        zf.writestr(f'{name}-1.0.dist-info/METADATA', meta)
    return str(path)


def test_missing_requirement_named_markers_and_extras_respected(tmp_path):
    wheels = [
        make_wheel(tmp_path, 'top', ['helper', 'numpy', 'absent>=1', 'opencv-python>=3',
                                     'tomli; python_version < "3.11"',
                                     'regex; sys_platform == "win32"',
                                     'pytest; extra == "test"']),
        make_wheel(tmp_path, 'helper', ['newer_only; python_version < "3.15"']),
    ]
    missing = check_wheel_deps.missing_requirements(
        wheels, have=['NumPy', 'opencv-python-headless'], python='3.12')
    # satisfied: a wheel in the folder, one on the machine (names normalised), opencv-python by
    # the headless build; skipped: other Pythons, other platforms, extras
    assert missing == {'top-1.0-py3-none-any.whl': ['absent>=1'],
                       'helper-1.0-py3-none-any.whl': ['newer_only; python_version < "3.15"']}
    assert check_wheel_deps.missing_requirements(wheels, ['numpy', 'opencv-python-headless',
                                                          'absent'], python='3.15') == {}


def test_cli_exit_status_and_message(tmp_path, capsys):
    make_wheel(tmp_path, 'top', ['absent'])
    assert check_wheel_deps.main([str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert 'top-1.0-py3-none-any.whl needs absent' in err and 'tools/fetch_wheels.sh' in err
    assert check_wheel_deps.main([str(tmp_path), '--have', 'absent']) == 0
    assert check_wheel_deps.main([str(tmp_path / 'empty')]) == 1
