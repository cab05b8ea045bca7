"""The explorers on a task defined here, as a user's own: its channel names on the controls, the fixed
points followed through a fold and found again when they are born, presets, search from scratch, and a
layout that fits a narrow window. Controls are changed programmatically, as a front-end would."""

import struct

import numpy as np
import pytest

from rnn_pipeline.rnn import RNN_numpy
from rnn_pipeline.tasks import Task
from rnn_pipeline.widgets import FixedPointExplorer, TrialExplorer


class TaskDrive(Task):
    "A user's task: a constant drive during the first half of the trial, its sign held as the answer."

    input_channels, output_channels = ('drive',), ('sign held',)

    def __init__(self, seed=None):
        super().__init__(40, 1, 1, seed=seed)

    def sample_conditions(self, n):
        return [dict(drive=float(d)) for d in self.rng.uniform(-1, 1, n)]

    def build_trials(self, conditions):
        drive = np.array([c['drive'] for c in conditions])
        t = np.arange(self.n_steps)[None, :, None]
        return (t < 20) * drive, (t >= 20) * np.sign(drive)


class TaskUnnamed(TaskDrive):
    "The same task with no channel names."

    input_channels = output_channels = ()


@pytest.fixture
def bistable():
    "x = tanh(2x + u): two stable points and a saddle for |u| < 0.53; they meet in folds at u = +-0.53."
    w = dict(W_inp=np.ones((1, 1)), W_rec=2 * np.ones((1, 1)), W_out=np.ones((1, 1)))
    return RNN_numpy.from_params(dict(N=1, dt=1, tau=10, activation='tanh', **w))


def png_size(data: bytes):
    "Width and height of a PNG."
    return struct.unpack('>II', data[16:24])


def test_fixed_point_explorer_follows_points_through_folds(bistable):
    explorer = FixedPointExplorer(bistable, TaskDrive(seed=0), input_vector=[0.0])
    assert [s.description for s in explorer.sliders] == ['drive']
    assert sorted(explorer.result.types) == ['stable', 'stable', 'unstable']
    identity = dict(zip(np.round(explorer.result.points[:, 0], 3), explorer.ids))
    image = explorer.image.value

    explorer.sliders[0].value = 0.3  # as a user moving the slider
    assert explorer.how == 'followed' and explorer.image.value != image
    np.testing.assert_allclose(np.tanh(2 * explorer.result.points + 0.3), explorer.result.points)
    assert sorted(explorer.ids) == sorted(identity.values())

    explorer.sliders[
        0
    ].value = 0.8  # past the fold: the lower memory and the saddle meet and vanish
    assert explorer.how == 'followed through a fold', 'a pair lost in a fold needs no new search'
    assert len(explorer.result) == 1 and explorer.result.points[0, 0] > 0.9
    assert explorer.ids.tolist() == [identity[0.958]]
    assert sorted(g['type'] for g in explorer.gone) == ['stable', 'unstable']
    for g in explorer.gone:
        np.testing.assert_allclose(g['input'], [0.533], atol=2e-3)
        np.testing.assert_allclose(g['state'], [-0.707], atol=2e-3)
    assert 'vanished in a fold' in explorer.status.value and 'drive 0.53' in explorer.status.value

    explorer.sliders[0].value = 0.3  # back across the fold: the pair is born again, no search
    assert len(explorer.result) == 3 and explorer.how == 'followed through a fold'
    assert sorted(explorer.ids) == sorted(identity.values()), 'born again in its own colours'
    assert explorer.gone == [] and 'born again at drive 0.53' in explorer.status.value
    np.testing.assert_allclose(np.tanh(2 * explorer.result.points + 0.3), explorer.result.points)
    ids = explorer.ids.copy()
    explorer.search_button.click()
    assert explorer.how == 'searched from scratch' and explorer.gone == []
    assert explorer.ids.tolist() == ids.tolist(), 'a search from scratch keeps the colours'
    assert 'FixedPointExplorer(drive 0.30: 3 points' in repr(explorer)


def test_points_born_in_a_fold_not_seen_are_searched(bistable):
    explorer = FixedPointExplorer(bistable, TaskDrive(seed=0), input_vector=[0.8])
    assert len(explorer.result) == 1
    upper = explorer.ids[0]
    explorer.sliders[0].value = 0.3  # the pair is born in a fold this explorer never crossed
    assert len(explorer.result) == 3 and explorer.how == 'search after following'
    assert upper in explorer.ids and len(set(explorer.ids)) == 3, 'the born pair: new colours'
    assert 'new: points' in explorer.status.value


def test_a_search_in_the_background_shows_when_it_ends(bistable):
    explorer = FixedPointExplorer(bistable, TaskDrive(seed=0), input_vector=[0.8], background=True)
    upper = explorer.ids[0]
    with explorer._lock:  # the thread cannot show its search before the second move
        explorer.sliders[0].value = 0.3
        assert explorer.how == 'followed, searching in the background'
        explorer.sliders[0].value = 0.31  # the points shown may be incomplete: search again
        assert explorer.how == 'followed, searching in the background'
    explorer.wait()
    assert (
        explorer.how == 'searched in the background'
        and 'in the background' in explorer.status.value
    )
    np.testing.assert_allclose(explorer.result.input_vector, [0.31])
    assert len(explorer.result) == 3 and upper in explorer.ids and len(set(explorer.ids)) == 3
    np.testing.assert_allclose(np.tanh(2 * explorer.result.points + 0.31), explorer.result.points)
    explorer.sliders[0].value = 0.32  # complete again: followed
    assert explorer.how == 'followed'


def test_a_point_lost_without_its_partner_calls_for_a_search(bistable):
    explorer = FixedPointExplorer(bistable, TaskDrive(seed=0), input_vector=[0.0])
    keep = explorer.result.types == 'stable'  # the saddle, the lower memory's partner, unknown
    explorer.result, explorer.ids = explorer.result[keep], explorer.ids[keep]
    explorer.sliders[0].value = 0.8
    assert explorer.how == 'search after following'
    assert len(explorer.result) == 1 and explorer.result.points[0, 0] > 0.9
    assert [g['type'] for g in explorer.gone] == ['stable']
    np.testing.assert_allclose(explorer.gone[0]['input'], [0.533], atol=2e-3)


def test_fixed_point_explorer_presets_and_size(bistable):
    explorer = FixedPointExplorer(bistable, TaskDrive(seed=0), figsize=(4, 3))
    assert png_size(explorer._repr_png_()) == (400, 300)
    assert 'no input' in explorer.presets
    epochs = [k for k in explorer.presets if 'steps 0-19' in k]
    assert epochs, list(explorer.presets)
    explorer.preset_menu.value = epochs[0]
    np.testing.assert_allclose(explorer.input_vector, explorer.presets[epochs[0]][0], atol=1e-9)
    assert explorer.how == 'searched from scratch'
    explorer.preset_menu.value = 'no input'
    assert explorer.input_vector.tolist() == [0.0] and len(explorer.result) == 3
    unnamed = FixedPointExplorer(bistable, TaskUnnamed(seed=0))
    assert [s.description for s in unnamed.sliders] == ['input 0']


def test_explorers_fit_a_narrow_window(bistable):
    for explorer in (
        FixedPointExplorer(bistable, TaskDrive(seed=0)),
        TrialExplorer(bistable, TaskDrive(seed=0)),
    ):
        box = explorer.widget
        controls, figure = box.children
        assert box.layout.width == '100%' and box.layout.flex_flow == 'row wrap'
        assert controls.layout.max_width == '380px' and controls.layout.width.endswith('%')
        assert figure.layout.flex.startswith('1 1') and explorer.image.layout.width == '100%'
        assert all(c.layout.width == '100%' for c in controls.children)


def test_trial_explorer_on_a_users_task(bistable):
    trials = TrialExplorer(bistable, TaskDrive(seed=0), figsize=(6, 3))
    assert png_size(trials.image.value) == (600, 300)
    assert [l.get_label() for l in trials.input_lines] == ['drive']
    assert [l.get_label() for l in trials.output_lines] == ['sign held']
    image = trials.image.value
    trials.controls['drive'].value = -0.5
    assert trials.condition['drive'] == -0.5 and trials.image.value != image
    assert trials.title == 'drive -0.5' == trials.ax_in.get_title()
    assert trials.outputs[0, 10] < 0 < trials.outputs[0, 0] + 1
    assert repr(trials) == 'TrialExplorer(TaskDrive: drive -0.5)'
    unnamed = TrialExplorer(bistable, TaskUnnamed(seed=0))
    assert [l.get_label() for l in unnamed.input_lines] == ['input 0']


def test_fixed_point_explorer_without_a_task_and_in_approx_mode(bistable):
    bare = FixedPointExplorer(bistable)
    assert [(s.description, s.min, s.max) for s in bare.sliders] == [('input 0', -1.0, 1.0)]
    assert bare.presets == {} and len(bare.result) == 3
    bare.sliders[0].value = -0.8  # past the other fold: the upper memory and the saddle vanish
    assert len(bare.result) == 1 and bare.result.points[0, 0] < -0.9 and len(bare.gone) == 2
    slow = FixedPointExplorer(bistable, TaskDrive(seed=0), mode='approx', fun_tol=1e-6)
    image = slow.image.value
    slow.sliders[0].value = 0.2
    assert slow.how == 'warm-started' and slow.image.value != image
    assert (np.abs(slow.rnn.rhs(slow.result.points, [0.2])) < 1e-2).all()


def test_fixed_point_explorer_takes_settings_of_new_starts(bistable):
    "patience and n_starts go to the searches from scratch; the warm updates leave them out."
    explorer = FixedPointExplorer(bistable, TaskDrive(seed=0), patience=20, n_starts=16)
    assert explorer._kwargs(True, 'patience') == {}
    for v in (0.1, 0.2, 0.8, 0.1):  # following, a fold, and the point born again on the way back
        explorer.sliders[0].value = v
    assert len(explorer.result) == 3
    explorer.preset_menu.value = 'no input'
    explorer.search()
    assert explorer.how == 'searched from scratch' and len(explorer.result) == 3


def test_explorers_show_as_live_widgets_in_a_kernel(bistable, monkeypatch):
    import rnn_pipeline.widgets as w

    explorers = (
        FixedPointExplorer(bistable, TaskDrive(seed=0)),
        TrialExplorer(bistable, TaskDrive(seed=0)),
    )
    for explorer in explorers:  # outside a kernel: the picture
        assert (
            explorer._repr_mimebundle_() is None and explorer._repr_png_() == explorer.image.value
        )
    monkeypatch.setattr(w, '_in_kernel', lambda: True)
    for explorer in explorers:
        view = explorer._repr_mimebundle_()['application/vnd.jupyter.widget-view+json']
        assert view['model_id'] == explorer.widget.model_id
