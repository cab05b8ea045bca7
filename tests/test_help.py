"help() on every public function and class shows what each documented parameter means."

import importlib
import inspect
import pkgutil
import pydoc

import pytest
from fastcore.docments import docments

import rnn_pipeline

MODULES = [
    m.name
    for m in pkgutil.iter_modules(rnn_pipeline.__path__)
    if not m.name.startswith('_') and importlib.util.find_spec(f'rnn_pipeline.{m.name}')
]


def _public(module_name):
    "The public functions and classes that `module_name` defines, by name."
    try:
        module = importlib.import_module(f'rnn_pipeline.{module_name}')
    except ImportError as e:  # an optional extra (datajoint, neurogym) that is not installed
        pytest.skip(f"{module_name} needs an optional extra: {e}")
    for name in getattr(module, '__all__', []):
        obj = getattr(module, name, None)
        if (inspect.isclass(obj) or inspect.isfunction(obj)) and obj.__module__ == module.__name__:
            yield name, obj


def test_package_says_what_it_is():
    assert 'RNN' in rnn_pipeline.__doc__ and 'fixed points' in rnn_pipeline.__doc__


@pytest.mark.parametrize('module_name', MODULES)
def test_help_shows_parameter_meanings(module_name):
    missing = []
    for name, obj in _public(module_name):
        target = obj.__init__ if inspect.isclass(obj) and '__init__' in vars(obj) else obj
        try:
            meanings = docments(target, full=False)
        except (TypeError, ValueError, OSError):
            continue
        text = ' '.join(pydoc.render_doc(obj, renderer=pydoc.plaintext).split())
        for param, meaning in meanings.items():
            if param in ('return', 'self') or not meaning:
                continue
            if ' '.join(meaning.split()) not in text:
                missing.append(f"{name}({param})")
    assert not missing, f"help() does not show the meaning of: {', '.join(missing)}"
