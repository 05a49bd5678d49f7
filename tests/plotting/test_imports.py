import subprocess
import sys


def test_importing_skcovid_evaluation_does_not_import_matplotlib():
    code = (
        "import sys, skcovid.metrics, skcovid.stats, skcovid.plotting; "
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported eagerly'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
