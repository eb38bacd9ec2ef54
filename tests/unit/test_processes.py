"""Reading /proc for the local Airflow's running set."""

from __future__ import annotations

from devtools import processes


def test_proc_fields_survive_a_command_name_with_spaces_and_parentheses():
    stat = "4242 (airflow worker -- (x) y) S 7 4242 4200 0 -1 4194560"
    assert (processes.parent_of(stat), processes.sid_of(stat)) == (7, 4200)
    assert processes.kib_field("Name:\tpython\nVmRSS:\t  123456 kB\n", "VmRSS") == 123456
    assert processes.kib_field("Name:\tkthreadd\n", "VmRSS") == 0
