"""The run settings are declared once (settings.py): the CLI's flags, the API's keywords, the
study context's fields and checks all come from RUN_SETTINGS, so they cannot drift apart."""

import dataclasses
import inspect

import pytest

import mnistlab
from mnistlab import api, settings
from mnistlab.cli import build_parser, main
from mnistlab.studies.framework.context import StudyContext
from mnistlab.studies.framework.method_study import MethodStudyOptions

NAMES = [s.name for s in settings.RUN_SETTINGS]


def _flags(command: str) -> dict:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    return {a.dest: a for a in sub._actions}


@pytest.mark.parametrize("command", ["report", "scoreboard", "variants", "bench", "explore"])
def test_every_command_offers_the_settings_as_declared(command):
    flags = _flags(command)
    offered = [s for s in settings.RUN_SETTINGS if s.name in flags]
    assert offered, command
    for setting in offered:
        action = flags[setting.name]
        assert action.option_strings[0] == setting.option
        assert action.help == setting.flag_help(action.default)
        if setting.name != "seeds":  # bench and report change its default to 3
            assert action.default == setting.default


def test_which_commands_leave_which_settings_out():
    assert {"seeds", "memory_budget_mib"}.isdisjoint(_flags("explore"))
    assert "memory_budget_mib" not in _flags("variants")  # it evaluates no ensemble
    assert "memory_budget_mib" in _flags("scoreboard")
    assert _flags("report")["seeds"].default == _flags("bench")["seeds"].default == 3
    assert "arch" not in _flags("bench")  # its rows name their networks
    assert _flags("train")["arch"].container.title.startswith("model and training")


@pytest.mark.parametrize("function", [mnistlab.run_study, mnistlab.write_report])
def test_the_api_takes_every_setting_with_the_commands_defaults(function):
    parameters = inspect.signature(function).parameters
    for setting in settings.RUN_SETTINGS:
        expected = (
            3 if function is mnistlab.write_report and setting.name == "seeds" else setting.default
        )
        assert parameters[setting.name].default == expected
        assert parameters[setting.name].kind == inspect.Parameter.KEYWORD_ONLY
        assert f"- {setting.name}=" in function.__doc__  # help() describes it


def test_train_takes_only_the_settings_that_concern_one_model():
    parameters = inspect.signature(mnistlab.train).parameters
    assert set(settings.BY_NAME) & set(parameters) == set(api.TRAIN_SETTINGS)


def test_the_context_holds_exactly_the_settings_with_their_defaults():
    fields = {f.name: f.default for f in dataclasses.fields(StudyContext)}
    assert set(fields) == {*NAMES, "reuse"}
    for setting in settings.RUN_SETTINGS:
        default = fields[setting.name]
        assert str(default) == str(setting.default)  # out is a Path in the context


BAD = {
    "out": 3,
    "data_dir": 3.5,
    "cache_dir": ["x"],
    "seed": -1,
    "seeds": 0,
    "quick": "yes",
    "retrain": 1,
    "memory_budget_mib": 0.5,
    "executor": "dask",
    "ray_address": 6379,
    "arch": "resnet",
}


def test_every_setting_has_a_bad_value_here():
    assert set(BAD) == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_a_bad_setting_is_a_one_line_error_naming_it_in_the_api(name, tmp_path):
    values = {"out": tmp_path / "out", "cache_dir": tmp_path / "cache", name: BAD[name]}
    with pytest.raises(mnistlab.ConfigError) as error:
        mnistlab.run_study("cross", **values)
    assert str(error.value).startswith(name) and "\n" not in str(error.value)


CLI_BAD = {"seed": "-1", "seeds": "0", "memory_budget_mib": "0.5"}  # the ones argparse passes


@pytest.mark.parametrize("name", list(CLI_BAD))
def test_the_same_check_names_the_flag_on_the_command_line(name, tmp_path, capsys):
    flag = settings.BY_NAME[name].option
    argv = ["dropout", "--out", str(tmp_path / "out"), flag, CLI_BAD[name]]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"mnistlab: error: {flag}") and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_a_keyword_that_is_no_setting_is_a_config_error_naming_the_settings():
    with pytest.raises(
        mnistlab.ConfigError, match="write_report\\(\\) has no keyword sed; its run settings: out"
    ):
        mnistlab.write_report(sed=3)


def test_method_study_options_resolve_once_under_the_profile():
    quick, full = StudyContext(quick=True), StudyContext()
    options = MethodStudyOptions(members=7, methods=("temperature", "ensemble"))
    run = options.resolve(quick)
    assert (run.members, run.ensemble_size) == (7, quick.profile.ensemble_size)
    assert [m.key for m in run.methods] == ["msp", "temperature", "ensemble"]
    assert options.resolve(full).ensemble_size == full.profile.ensemble_size
    assert run.recorded()["methods"] == [m.describe() for m in run.methods]
    # an ensemble of one is the base model: it is left out
    alone = MethodStudyOptions(ensemble_size=1, methods=("ensemble",)).resolve(full)
    assert [m.key for m in alone.methods] == ["msp"] and alone.roles == {"base"}


def test_a_method_study_resolves_its_options_once_per_run(synthetic_data, tmp_path, monkeypatch):
    calls = []
    resolve = MethodStudyOptions.resolve
    monkeypatch.setattr(
        MethodStudyOptions, "resolve", lambda self, ctx: calls.append(1) or resolve(self, ctx)
    )
    mnistlab.run_study(
        "scoreboard", quick=True, out=tmp_path, methods=("temperature",), datasets=("mnist",)
    )
    assert len(calls) == 1
