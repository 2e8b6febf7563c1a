"""The rehearsal runs only under moto releases it can trust, and asks IAM what AWS asks."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from wdl2sfn.backends.rehearsal import hooks, moto_support


@pytest.mark.parametrize("version", ["5.2.0", "5.2.5", "5.2.6"])
def test_tested_moto_releases_are_accepted(version):
    assert moto_support.check(version) == version


def test_moto_5_1_is_refused_naming_the_alias_failure_and_the_supported_range():
    with pytest.raises(moto_support.UnsupportedMoto) as err:
        moto_support.check("5.1.22")
    message = str(err.value)
    assert "moto 5.1.22" in message and "CreateStateMachineAlias" in message
    assert moto_support.SUPPORTED in message


def test_an_untested_newer_moto_is_refused():
    with pytest.raises(moto_support.UnsupportedMoto, match="newer than any release"):
        moto_support.check("5.3.0")


def test_the_installed_moto_is_supported():
    """The lock pins a release the rehearsal accepts."""
    moto_support.check()


def test_s3_requests_are_authorized_by_their_iam_action_not_their_operation():
    """AWS, S3 API Reference, ListObjectsV2: "General purpose bucket permissions - To use this
    operation, you must have READ access to the bucket. You must have permission to perform the
    s3:ListBucket action." moto's S3 records that action in data["Action"]; 5.2.6 authorizes by
    the operation's name instead unless the rehearsal reads it."""
    response = SimpleNamespace(
        data={"Action": "ListBucket"}, _get_action=lambda: "ListObjectsV2", method="GET"
    )
    assert hooks._action_name(response, "s3") == "ListBucket"


def test_other_services_keep_moto_s_operation_name():
    response = SimpleNamespace(data={}, _get_action=lambda: "describejobs", method="POST")
    assert hooks._action_name(response, "batch") == "describejobs"
