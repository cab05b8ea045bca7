"Shared by the pytest tests: `say`, to print a measured figure into the test run's output (CI's log) whatever the capture."

import pytest


@pytest.fixture(scope='session')
def say(pytestconfig):
    "A print that shows in the run's output even when pytest captures the test's output."
    capture = pytestconfig.pluginmanager.getplugin('capturemanager')

    def say(text: str):
        with capture.global_and_fixture_disabled():
            print(f"\n[figure] {text}", flush=True)

    return say
