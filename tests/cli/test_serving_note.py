"""The demo's last lines say what `make serve` will do with the registry it leaves."""

from mlflow import MlflowClient

from cli.demo import serving_note


def test_without_a_champion_the_note_names_signals_only_and_the_newest_version(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    client.create_registered_model("alphaforge-signal")
    for _ in range(3):
        client.create_model_version("alphaforge-signal", source=(tmp_path / "m").as_uri())
    note = serving_note(False, uri)
    assert "v3 (the newest) for SIGNALS ONLY" in note
    assert "refused with 423" in note and "alphaforge promote VERSION" in note
    assert "@champion" in serving_note(True, uri) and "SIGNALS ONLY" not in serving_note(True, uri)
