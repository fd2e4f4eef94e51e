import pytest

from airflow_provider_dbxscim.exceptions import ConfigurationError


def test_a_workspace_host_that_does_not_resolve_fails_at_once(hook, fake_time):
    """A workspace host name that does not exist fails with a configuration error, without retries."""
    host = "https://dbc-doesnotexist-123.invalid"

    with pytest.raises(ConfigurationError, match="does not resolve"):
        hook.find_workspace_users(host, ["a@example.com"])

    assert fake_time.waits == []
