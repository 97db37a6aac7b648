"""Suite-wide set-up: the real servers' fixtures, and hypothesis without wall-clock limits."""

from hypothesis import HealthCheck, settings

pytest_plugins = ["tests.servers"]

# Speed is measured in bench/, never asserted here: a property test on a loaded machine
# must not fail for taking its time.
settings.register_profile(
    "mailagent", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("mailagent")
