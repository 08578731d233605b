"""Put check IDs into the JUnit XML pytest writes, and keep secrets out of it.

pytest's own ``--junitxml`` names a test case after its function. CI dashboards show
that name, so the check ID leads it: ``HLT-01 test_health_endpoint_reports_dependencies``.
The file is rewritten once pytest has written it, at the end of the run.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path

from conformance.redaction import Redactor


def junit_key(nodeid: str) -> tuple[str, str]:
    """The ``(classname, name)`` pytest gives a node id in JUnit XML."""
    parts = nodeid.split("::")
    module = parts[0].replace("/", ".").removesuffix(".py")
    return ".".join([module, *parts[1:-1]]), parts[-1]


def label_junit_file(
    path: Path, ids_by_nodeid: Mapping[str, str], redactor: Redactor
) -> None:
    """Prefix each check's test case name with its ID and redact the whole file."""
    if not path.is_file():
        return

    ids = {junit_key(nodeid): check_id for nodeid, check_id in ids_by_nodeid.items()}
    tree = ET.parse(path)
    for case in tree.iter("testcase"):
        classname = case.get("classname", "")
        name = case.get("name", "")
        check_id = next(
            (
                cid
                for (cls, nm), cid in ids.items()
                if nm == name and classname.endswith(cls)
            ),
            None,
        )
        if check_id is not None and not name.startswith(check_id):
            case.set("name", f"{check_id} {name}")

    text = ET.tostring(tree.getroot(), encoding="unicode")
    path.write_text(redactor.text(text), encoding="utf-8")
