"""The consoles in real headless Chromium against a real `hotline serve`: every role signs in,
operators confirm and correct, a supervisor overrides and sees accuracy change, a department
finishes with a photo, an inspector fails then passes it, the public page shows it closed,
citizens' markup stays text, and a department cannot open another department's case.

The tests share one service and one browser (starting Chromium costs seconds); each signs in as
the role it needs and sets up its own reports through the API.
"""
from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from tests.console.conftest import ARTEFACTS, PASSWORD, USERS

LANDING = {"operator": "operator.html", "shift_chief": "audit.html", "auditor": "audit.html",
           "dispatcher": "arbitration.html", "department": "department.html", "inspector": "inspector.html"}


class Console:
    """The browser at the service: sign in, open pages, wait for elements, take screenshots."""

    def __init__(self, driver, service):
        self.d = driver
        self.s = service

    def url(self, page: str) -> str:
        """The address of a console page."""
        return f"{self.s.node.base}/console/{page}"

    def wait(self, cond, timeout: float = 20):
        """Wait (bounded, on a condition, never a fixed sleep) until cond(driver) is truthy."""
        return WebDriverWait(self.d, timeout, poll_frequency=0.1).until(cond)

    def el(self, css: str, timeout: float = 20):
        """The first visible element matching css."""
        return self.wait(EC.visibility_of_element_located((By.CSS_SELECTOR, css)), timeout)

    def tid(self, testid: str, within=None):
        """An element by its data-testid."""
        if within is not None:
            return within.find_element(By.CSS_SELECTOR, f"[data-testid='{testid}']")
        return self.el(f"[data-testid='{testid}']")

    def sign_in(self, user: str) -> None:
        """Sign in through the form (after clearing any earlier session)."""
        self.d.get(self.url("index.html"))
        self.d.delete_all_cookies()
        self.d.get(self.url("index.html"))
        self.el("#user").send_keys(user)
        self.el("#password").send_keys(PASSWORD)
        self.press(self.el("#signin"))
        self.wait(lambda d: "index.html" not in d.current_url)
        self.wait(lambda d: user in self.tid("who").text)

    def open(self, page: str) -> None:
        """Go to a page and wait for its header (the session check has run)."""
        self.d.get(self.url(page))
        self.el("header.top")

    def message(self) -> str:
        """The page's status line once it says something (ok or error)."""
        return self.wait(lambda d: d.find_element(By.ID, "msg").text.strip() or False)

    def press(self, element) -> None:
        """Click after clearing the status line, so the next ok() reads this action's answer."""
        self.d.execute_script("const m = document.getElementById('msg'); if (m) { m.className = 'msg'; m.textContent = ''; }")
        element.click()

    def press_live(self, css: str) -> None:
        """Click an element of a list the page re-renders on its own (the polled queue): found
        again and clicked in one step, retried (bounded) when a refresh replaced it meanwhile."""
        from selenium.common.exceptions import StaleElementReferenceException

        def attempt(d):
            try:
                self.press(d.find_element(By.CSS_SELECTOR, css))
                return True
            except StaleElementReferenceException:
                return False
        self.wait(attempt)

    def ok(self, expect: str | None = None) -> str:
        """Wait for the status line saying `expect` (fail at once on an error line); read the
        class and text in one script so a line changing meanwhile is never half-read."""
        read = "const m = document.getElementById('msg'); return m ? [m.className, m.textContent] : null;"

        def seen(d):
            got = d.execute_script(read)
            if not got or not got[1].strip():
                return False
            if "error" in got[0] or expect is None or expect in got[1]:
                return got
            return False
        cls, text = self.wait(seen)
        assert "ok" in cls, text
        return text

    def shot(self, name: str) -> None:
        """Save a screenshot of the whole page (beyond the viewport) as a test artefact."""
        import base64
        size = self.d.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
        shot = self.d.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 4000), "scale": 1}})
        (ARTEFACTS / f"{name}.png").write_bytes(base64.b64decode(shot["data"]))

    def fetch(self, method: str, path: str, body=None) -> int:
        """A request from inside the page with the session cookie and its CSRF secret; the status."""
        return self.d.execute_async_script("""
            const [method, path, body, done] = arguments;
            fetch('/api/v1/session').then(r => r.json()).then(me => fetch(path, {method,
                headers: {'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token || ''},
                body: body === null ? undefined : JSON.stringify(body)})).then(r => done(r.status),
                e => done(String(e)));""", method, path, body)


@pytest.fixture
def ui(browser, service):
    """The console helper for one test."""
    browser.set_script_timeout(30)
    return Console(browser, service)


def test_every_role_signs_in_to_its_own_page_and_signs_out(ui):
    """Each role's password sign-in lands on its page with its name and role in the header; signing
    out ends the session on the server (the old cookie no longer opens the API)."""
    for name, role, _ in USERS:
        ui.sign_in(name)
        assert ui.d.current_url.endswith(LANDING[role]), (role, ui.d.current_url)
        assert "受理员 值班长 质检员 派遣员 专业部门 监督员".find(ui.tid("who").text.split("（")[1][:3]) >= 0
        ui.shot(f"home-{role}-{name}")
        cookie = ui.d.get_cookie("hl_session")
        assert cookie and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        ui.press(ui.el("#signout"))
        # (a queue poll answered 401 after signing out may add ?next=...)
        ui.wait(lambda d: "/console/index.html" in d.current_url)
        ui.d.add_cookie({"name": "hl_session", "value": cookie["value"], "path": "/"})
        assert ui.fetch("GET", "/api/v1/console/lookups") == 401
    ui.d.delete_all_cookies()
    ui.d.get(ui.url("index.html"))
    ui.el("#user").send_keys("op")
    ui.el("#password").send_keys("wrong-password")
    ui.press(ui.el("#signin"))
    assert "用户名或密码错误" in ui.message()
    ui.shot("login-wrong-password")


def test_operator_confirms_one_proposal_and_corrects_another(ui, service):
    """From the live queue an operator confirms one report with one key (the case is accepted) and
    corrects another's code through the picker by pinyin initials; both reviews carry the operator."""
    a = service.report("confirm", "三井街道河海中路上有暴露垃圾，好几天没人清理")
    b = service.report("correct", "三井街道龙锦路有个窨井盖破损了")
    ui.sign_in("op")
    ui.open("operator.html")
    assert "待受理" in ui.el(f"tr[data-report='{a['report_id']}']").text
    ui.el(f"tr[data-report='{b['report_id']}']")
    # The queue updates without a reload: a report arriving now shows up on the open page.
    marker = ui.d.execute_script("window.__notReloaded = true; return true")
    late = service.report("late", "罗溪镇有人占道经营")
    ui.el(f"tr[data-report='{late['report_id']}']", timeout=15)
    assert marker and ui.d.execute_script("return window.__notReloaded === true")
    ui.shot("operator-queue")
    ui.press_live(f"tr[data-report='{a['report_id']}'] [data-testid='open-report']")
    ui.wait(lambda d: f"report.html?id={a['report_id']}" in d.current_url)
    ui.tid("proposed-code")
    ui.shot("operator-report")
    ui.press(ui.tid("confirm"))
    ui.ok("已确认")
    ui.wait(lambda d: "待立案" in ui.tid("case-status").text)
    assert "确认" in ui.tid("reviews").text and "op" in ui.tid("reviews").text

    ui.d.get(ui.url(f"report.html?id={b['report_id']}"))
    ui.tid("proposed-code")
    picker = ui.tid("picker-input")
    picker.send_keys("bllj")  # 暴露垃圾: bao lu la ji
    ui.press(ui.el("[data-testid='picker-list'] li[data-code='06010']"))
    ui.tid("correct-reason").send_keys("井盖完好，现场是垃圾")
    ui.press(ui.tid("correct"))
    ui.ok("06010")
    ui.wait(lambda d: "更正" in ui.tid("reviews").text)
    ui.shot("operator-report-corrected")
    status, trail = service.api("GET", f"/api/v1/reports/{b['report_id']}/reviews", role="operator")
    assert status == 200 and trail["reviews"][-1]["kind"] == "correct"
    assert trail["reviews"][-1]["reviewer"] == "op" and trail["final"]["code"] == "06010"
    status, case = service.api("GET", f"/api/v1/cases/{a['case_id']}", role="operator")
    assert case["status"] == "accepted" and any(e["kind"] == "accepted" and e["actor"] == "operator:op"
                                                for e in case["history"])
    # The queue (polled, no reload) drops both once they are reviewed.
    ui.open("operator.html")
    ui.wait(lambda d: not d.find_elements(By.CSS_SELECTOR, f"tr[data-report='{a['report_id']}']"))


def _accuracy_reviewed(ui) -> int:
    ui.open("accuracy.html")
    return int(ui.tid("reviewed").text)


def test_supervisor_overrides_with_a_reason_and_accuracy_changes(ui, service):
    """A shift chief overrides a low-confidence decision from the audit queue with a reason; the
    accuracy page then counts one more reviewed decision and shows the pair in the confusion chart."""
    r = service.report("audit", "三井街道那边有个东西不对劲")
    ui.sign_in("chief")
    before = _accuracy_reviewed(ui)
    ui.open("audit.html")
    card = ui.el(f"section[data-report='{r['report_id']}']")
    ui.shot("supervisor-audit-queue")
    ui.press(card.find_element(By.CSS_SELECTOR, "[data-testid='override']"))
    assert "理由" in ui.message() or "事项" in ui.message()  # refused without a code and a reason
    card.find_element(By.CSS_SELECTOR, "[data-testid='picker-input']").send_keys("06010")
    ui.press(ui.el(f"section[data-report='{r['report_id']}'] li[data-code='06010']"))
    card.find_element(By.CSS_SELECTOR, "[data-testid='override-reason']").send_keys("描述指向路边垃圾堆")
    ui.press(card.find_element(By.CSS_SELECTOR, "[data-testid='override']"))
    ui.ok("已改判")
    ui.wait(lambda d: not d.find_elements(By.CSS_SELECTOR, f"section[data-report='{r['report_id']}']"))
    after = _accuracy_reviewed(ui)
    assert after == before + 1
    ui.tid("confusion-chart")
    ui.shot("supervisor-accuracy")
    status, trail = service.api("GET", f"/api/v1/reports/{r['report_id']}/reviews", role="shift_chief")
    assert trail["reviews"][-1]["kind"] == "override" and trail["reviews"][-1]["reason"] == "描述指向路边垃圾堆"


def _dispatched(service, key: str, text: str, department: str) -> dict:
    r = service.report(key, text)
    cid = r["case_id"]
    service.act(cid, "accept", "operator")
    service.act(cid, "register", "shift_chief")
    service.act(cid, "dispatch", "dispatcher", department=department)
    return r


def _department_finishes(ui, service, case_id: int, note: str) -> None:
    ui.open("department.html")
    ui.el(f"tr[data-case='{case_id}']")
    ui.press(ui.tid(f"open-{case_id}"))
    ui.press(ui.tid("start"))
    ui.ok("开始处置")
    ui.tid("finish-note").send_keys(note)
    ui.tid("finish-photo").send_keys(str(service.photo))
    ui.press(ui.tid("finish"))
    ui.ok("已提交处置结果")


def test_department_finishes_with_photo_inspector_fails_then_passes_and_public_shows_closed(ui, service):
    """The loop through the pages: the department starts and finishes with a note and a photo, the
    inspector fails it (rework), the department finishes again, the inspector passes it, the shift
    chief closes it, and the citizens' page shows it closed with the result."""
    r = _dispatched(service, "loop", "三井街道太湖路有人占道经营", "locality-sanjing")
    cid = r["case_id"]
    ui.sign_in("sanjing")
    ui.open("department.html")
    row = ui.el(f"tr[data-case='{cid}']")
    assert row.find_elements(By.CSS_SELECTOR, ".light.green, .light.yellow, .light.red")
    ui.shot("department-cases")
    _department_finishes(ui, service, cid, "已劝离摊贩")
    ui.wait(lambda d: "待核查" in ui.tid("case-detail").text)
    ui.shot("department-finished")
    status, photos = service.api("GET", f"/api/v1/console/cases/{cid}/photos", role="shift_chief")
    assert status == 200 and len(photos["items"]) == 1 and photos["items"][0]["content_type"] == "image/png"

    ui.sign_in("insp")
    ui.open("inspector.html")
    card = ui.el(f"section[data-case='{cid}']")
    assert "已劝离摊贩" in card.text
    ui.wait(lambda d: d.execute_script(
        "const i = document.querySelector(arguments[0]); return i && i.complete && i.naturalWidth > 0",
        f"section[data-case='{cid}'] img.photo"))
    ui.shot("inspector-task")
    card.find_element(By.CSS_SELECTOR, "[data-testid='verify-note']").send_keys("摊贩又回来了")
    card.find_element(By.CSS_SELECTOR, "[data-testid='verify-photo']").send_keys(str(service.photo))
    ui.press(card.find_element(By.CSS_SELECTOR, "[data-testid='verify-fail']"))
    ui.ok("返工")
    status, case = service.api("GET", f"/api/v1/cases/{cid}", role="operator")
    assert case["status"] == "dispatched" and any(e["kind"] == "rework" for e in case["history"])
    assert any(e["kind"] == "photo_added" and e["actor"] == "inspector:insp" for e in case["history"])

    ui.sign_in("sanjing")
    _department_finishes(ui, service, cid, "已清理并设置提示牌")
    ui.sign_in("insp")
    ui.open("inspector.html")
    card = ui.el(f"section[data-case='{cid}']")
    ui.press(card.find_element(By.CSS_SELECTOR, "[data-testid='verify-pass']"))
    ui.ok("核查通过")
    ui.sign_in("chief")
    ui.open("arbitration.html")
    ui.press(ui.tid(f"close-{cid}"))
    ui.ok("已结案")

    ui.d.delete_all_cookies()
    ui.d.get(ui.url(f"public.html?number={r['case_number']}"))
    ui.wait(lambda d: "已结案" in ui.tid("public-status").text)
    assert ui.tid("public-note").text == "已清理并设置提示牌"
    page = ui.d.find_element(By.TAG_NAME, "body").text
    assert "13912345678" not in page and "sanjing" not in page
    ui.shot("public-closed")


def test_a_report_whose_text_is_a_script_renders_as_text(ui, service):
    """Citizens' text is untrusted: markup in it is shown literally on the queue and the report page
    and never runs."""
    evil = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">孟河镇人行道上有人乱摆摊'
    r = service.report("xss", evil)
    ui.sign_in("op")
    ui.open("operator.html")
    # Read in one script: the polled queue may re-render between finding the cell and reading it.
    css = f"tr[data-report='{r['report_id']}'] .qtext"
    ui.wait(lambda d: "<script>window.__pwned=1</script><img" in d.execute_script(
        "const c = document.querySelector(arguments[0]); return c ? c.textContent : ''", css))
    ui.d.get(ui.url(f"report.html?id={r['report_id']}"))
    assert ui.tid("report-text").text == evil
    assert ui.d.execute_script("return window.__pwned === undefined")
    assert not ui.d.find_elements(By.CSS_SELECTOR, "main script, main img[src='x']")
    ui.shot("report-script-as-text")


def test_a_department_cannot_open_another_departments_case(ui, service):
    """The server refuses (403) another department's case, its actions and its photos, whatever the
    page shows."""
    other = _dispatched(service, "power", "新桥镇路灯不亮", "power")
    cid = other["case_id"]
    ui.sign_in("sanjing")
    ui.open(f"department.html?case={cid}")
    refused = ui.tid("refused")
    assert "无法打开" in refused.text
    assert not ui.d.find_elements(By.CSS_SELECTOR, f"tr[data-case='{cid}']")
    ui.shot("department-refused")
    assert ui.fetch("GET", f"/api/v1/cases/{cid}") == 403
    assert ui.fetch("GET", f"/api/v1/cases/{cid}/timing") == 403
    assert ui.fetch("POST", f"/api/v1/cases/{cid}/actions", {"action": "start"}) == 403
    assert ui.fetch("GET", f"/api/v1/console/cases/{cid}/photos") == 403


def test_supervisor_pages_render(ui, service):
    """The shift chief's remaining pages load with data from the API: hot issues and recurring
    places, arbitration, the evaluation tables and charts with an XLSX download."""
    ui.sign_in("chief")
    ui.open("hot.html")
    ui.wait(lambda d: "热点问题" in d.find_element(By.ID, "app").text)
    ui.shot("supervisor-hot")
    ui.open("arbitration.html")
    ui.wait(lambda d: d.find_element(By.ID, "app").text.strip())
    ui.shot("supervisor-arbitration")
    ui.open("evaluation.html")
    ui.el("section[data-table='departments']")
    href = ui.tid("xlsx").get_attribute("href")
    assert "/console/files/evaluation.xlsx?" in href
    size = ui.d.execute_async_script("""
        const done = arguments[1];
        fetch(arguments[0]).then(r => r.ok ? r.arrayBuffer() : Promise.reject(r.status))
          .then(b => done(new Uint8Array(b).slice(0, 2).join(",") + ":" + b.byteLength), e => done("error " + e));""", href)
    assert size.startswith("80,75:"), size  # "PK": an XLSX is a zip
    ui.shot("supervisor-evaluation")
