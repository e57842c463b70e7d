"""Every command's exit codes, in one table (the README's "Exit codes" lists the same).

====  ==========================================================================
code  meaning
====  ==========================================================================
0     done: every row was measured, or at least one was and the rest say why not
1     the harness failed: results it could not write, a driver it could not start
2     usage: a bad flag or value, one line naming it, before anything starts
3     ``run --fail-on-slo``: a row missed its SLO
4     ``compare``: a significant regression beyond ``--threshold``
5     ``run``: no row succeeded (every one failed or was unsupported)
6     ``verify``: a cell's answers were not what its workload expects
128+n stopped by signal n (130 Ctrl+C, 143 SIGTERM, 129 SIGHUP): the results are whole
====  ==========================================================================
"""

OK = 0
ERROR = 1
USAGE = 2
SLO_MISSED = 3
REGRESSION = 4
NOTHING_MEASURED = 5
VERIFY_FAILED = 6
SIGNALLED = 128  # + the signal's number
