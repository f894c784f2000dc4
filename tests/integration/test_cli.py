"""The command line as an operator uses it, in a subprocess on a fresh SQLite database."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite://{tmp_path / 'cli.sqlite3'}", "REDIS_URL": "memory://",
           "COLUMNS": "200"}

    def run(*args, check=True):
        proc = subprocess.run([sys.executable, "-m", "server", *args], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
        if check:
            assert proc.returncode == 0, proc.stderr
        return proc

    run("migrate")
    return run


def test_seed_is_idempotent_and_lists_the_demo_accounts(cli):
    first = cli("seed")
    assert "新增部门 12，事项 58，企业 6" in first.stderr
    assert "sysadmin" in first.stderr and "sandbox-linxiaoyu" in first.stderr
    second = cli("seed")
    assert "新增部门 0，事项 0，企业 0" in second.stderr


def test_create_staff_refuses_a_short_password_in_chinese(cli):
    ok = cli("create-staff", "--username", "ops", "--role", "system_admin", "--password", "Long-password-1")
    assert "已创建 ops" in ok.stderr
    bad = cli("create-staff", "--username", "ops2", "--role", "consultant", "--password", "short", check=False)
    assert bad.returncode == 2 and "密码至少 10 位" in bad.stderr
    dup = cli("create-staff", "--username", "ops", "--role", "consultant", "--password", "Long-password-1",
              check=False)
    assert dup.returncode == 2 and "用户名已存在" in dup.stderr


def test_import_shows_progress_and_a_table_of_rejected_rows(cli, tmp_path):
    cli("seed")
    sheet = tmp_path / "items.csv"
    sheet.write_text(
        "事项编码,事项名称,事项类型,部门编码,法定时限（工作日）,承诺时限（工作日）,生命周期\n"
        "CLI-1,命令行导入的事项,公共服务,SW,5,2,经营\n"
        "CLI-2,部门写错的事项,公共服务,XX,5,2,经营\n"
        "CLI-3,阶段写错的事项,公共服务,SW,5,2,某天\n", encoding="utf-8")
    proc = cli("import-service-items", str(sheet))
    out = proc.stderr
    assert "导入事项" in out  # the progress bar's label
    assert "共 3 行：新增 1，更新 0，拒绝 2" in out
    assert "被拒绝的行" in out and "部门编码 XX 不存在" in out and "stage" in out


def test_import_of_a_missing_or_unreadable_file_fails_cleanly(cli, tmp_path):
    missing = cli("import-service-items", str(tmp_path / "nope.csv"), check=False)
    assert missing.returncode == 2 and "文件不存在" in missing.stderr
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"not a workbook")
    bad = cli("import-service-items", str(junk), check=False)
    assert bad.returncode == 2 and "未写入任何数据" in bad.stderr


def test_openapi_command_writes_the_document(cli, tmp_path):
    out = tmp_path / "openapi.json"
    cli("openapi", "--out", str(out))
    assert '"/api/v1/service-items"' in out.read_text(encoding="utf-8")
