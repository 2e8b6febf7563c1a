"""The FSx data repository association links a folder of its own, not the run store (issue 20
item 12).

AutoExportPolicy (Amazon FSx API reference,
https://docs.aws.amazon.com/fsx/latest/APIReference/API_AutoExportPolicy.html): "NEW - New files
and directories are automatically exported to the data repository as they are added to the file
system." Linked at ``/``, every file of every run in the run store (``/wdl2sfn/runs``) was copied
to ``s3://<RunBucket>/wdl2sfn/runs/``, a prefix no lifecycle rule expires: S3 storage growing
with every run, on top of the file system's own.
"""

from __future__ import annotations

from aws_cdk import App, Stack
from aws_cdk.assertions import Template
from wdl2sfn_cdk.storage import LINK_PATH, link_bucket


def _association() -> dict:
    stack = Stack(App(), "Linked")
    link_bucket(stack, "fs-0123456789abcdef0", "s3://runs-bucket")
    (association,) = (
        Template.from_stack(stack).find_resources("AWS::FSx::DataRepositoryAssociation").values()
    )
    return dict(association["Properties"])


def test_the_bucket_link_is_a_folder_outside_the_run_store() -> None:
    properties = _association()
    assert properties["FileSystemPath"] == LINK_PATH == "/s3"
    store = "/wdl2sfn/runs"  # WDL2SFN_STORE below the mount path
    assert not store.startswith(LINK_PATH + "/")
