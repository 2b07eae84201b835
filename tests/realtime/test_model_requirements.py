"""The served model's pinned requirements are checked against what is installed, cheaply."""

from importlib import metadata

from realtime.inference.model import requirement_mismatches


def test_pins_the_environment_satisfies_pass_and_others_are_named():
    numpy = metadata.version("numpy")
    text = "\n".join(
        [
            "# written by mlflow",
            f"numpy=={numpy}",
            "scikit-learn>=0.1",
            "-r other.txt",
            "pandas==0.0.1",
            "surely-not-a-package-af==1.0",
            'numpy==0.0.1; python_version < "3"',  # a marker this Python does not match
        ]
    )
    problems = requirement_mismatches(text)
    assert len(problems) == 2
    assert problems[0].startswith("pandas==0.0.1") and "installed here" in problems[0]
    assert problems[1].startswith("surely-not-a-package-af==1.0") and "not installed" in problems[1]
