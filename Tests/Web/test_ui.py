#!/usr/bin/env python3
"""Browser test of SegHub's web UI: headless Chromium driven by selenium against a live segserver.

Usage: test_ui.py BASE_URL IMAGE1 IMAGE2 ARTIFACT_DIR INBOX_DIR

Steps: sign up -> create a project -> upload two spheroid images -> wait for the live status
"segmented" (event socket, no reload) -> open one, see its polygons drawn -> move a vertex and
save -> the API returns the new version with changed metrics -> export COCO and download it -> a
16-bit two-page TIFF: its pages shown, page 1 segmented with the nuclei preset and displayed as PNG ->
members, a share link mailed -> mail read from the real SMTP server's INBOX_DIR (scripts/dev/smtp.sh): the
address confirmed from its link, forgot password -> mail -> reset page -> sign in with the new password, and an
invitation mailed to a new address accepted by signing up on the invitation's page.
A screenshot and the page source of the failing step are saved in ARTIFACT_DIR. Prints
"N passed, N failed" at the end and exits non-zero on any failure.
"""
import json
import os
import sys
import time
import traceback
import urllib.request
import zipfile

from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

BASE, IMAGE1, IMAGE2, ARTIFACTS, INBOX = sys.argv[1:6]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "lib"))
import inbox  # noqa: E402  (scripts/lib/inbox.py: the test SMTP server's inbox, parsed with Python's email package)
DOWNLOADS = os.path.join(ARTIFACTS, "downloads")
os.makedirs(DOWNLOADS, exist_ok=True)
# Hang guards only: every wait ends as soon as its condition holds.
WAIT = 60
SEGMENT_WAIT = 240


def make_driver(width=1280, height=800):
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("SEG_CHROMIUM", "/usr/bin/chromium")
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     f"--window-size={width},{height}", "--disable-extensions", "--no-first-run"]:
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"download.default_directory": DOWNLOADS, "download.prompt_for_download": False})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = webdriver.ChromeService(executable_path=os.environ.get("SEG_CHROMEDRIVER", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": DOWNLOADS})
    return driver


driver = make_driver()
wait = WebDriverWait(driver, WAIT)
state = {}
passed = failed = 0


def step(name):
    def run(function):
        global passed, failed
        if failed:
            print(f"SKIPPED-AFTER-FAILURE {name}", flush=True)
            return function
        started = time.time()
        try:
            function()
            passed += 1
            driver.save_screenshot(os.path.join(ARTIFACTS, f"{passed:02d}-{name.lower().replace(' ', '-')}.png"))
            print(f"ok   {name} ({time.time() - started:.1f} s)", flush=True)
        except Exception:
            failed += 1
            print(f"FAIL {name}", flush=True)
            traceback.print_exc()
            slug = name.lower().replace(" ", "-")
            driver.save_screenshot(os.path.join(ARTIFACTS, f"{slug}.png"))
            with open(os.path.join(ARTIFACTS, f"{slug}.html"), "w") as f:
                f.write(driver.page_source)
            try:
                with open(os.path.join(ARTIFACTS, f"{slug}.console.json"), "w") as f:
                    json.dump(driver.get_log("browser"), f, indent=1)
            except Exception:
                pass
        return function
    return run


def css(selector):
    return driver.find_element(By.CSS_SELECTOR, selector)


def api(method, path, body=None):
    """Calls the API with the browser session's cookies and CSRF token."""
    access, csrf = driver.get_cookie("seg_access")["value"], driver.get_cookie("seg_csrf")["value"]
    headers = {"Cookie": f"seg_access={access}; seg_csrf={csrf}", "X-CSRF-Token": csrf, "Content-Type": "application/json"}
    request = urllib.request.Request(BASE + path, method=method, data=json.dumps(body).encode() if body else None,
                                     headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


@step("sign up")
def sign_up():
    driver.get(BASE + "/")
    wait.until(EC.presence_of_element_located((By.ID, "login-form")))
    # a wrong password gets a clear message
    css("#login-form input[name=email]").send_keys("nobody@example.org")
    css("#login-form input[name=password]").send_keys("wrong password")
    css("#login-form button[type=submit]").click()
    wait.until(lambda d: "Wrong email or password" in css("#auth-error").text)
    css("a[href='#/register']").click()
    form = wait.until(EC.presence_of_element_located((By.ID, "register-form")))
    form.find_element(By.NAME, "name").send_keys("Web Tester")
    form.find_element(By.NAME, "email").send_keys("web-tester@example.org")
    form.find_element(By.NAME, "password").send_keys("correct horse battery")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(EC.presence_of_element_located((By.ID, "projects")))
    assert css("#whoami").text == "web-tester@example.org"
    cookie = driver.get_cookie("seg_access")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict", cookie
    # the access token never reaches page scripts
    assert "seg_access" not in driver.execute_script("return document.cookie")


@step("confirm the address from the mailed link")
def confirm_address():
    # until then the header offers a new link
    assert css("#confirm-address").is_displayed()
    _, message = inbox.wait_for(INBOX, "web-tester@example.org", 1, WAIT, subject="Confirm your address")[0]
    link = inbox.link(message, "/verify-email")
    assert link.startswith(BASE + "/verify-email?token="), link
    driver.get(link)
    wait.until(EC.presence_of_element_located((By.ID, "verify-done")))
    # the token left the address bar (and the history) as the page loaded
    assert driver.current_url == BASE + "/verify-email", driver.current_url
    css("#verify-continue").click()
    wait.until(EC.presence_of_element_located((By.ID, "projects")))
    assert api("GET", "/api/v1/auth/me")["emailVerified"] is True
    assert not driver.find_elements(By.ID, "confirm-address")


@step("create a project")
def create_project():
    css("#new-project-name").send_keys("Spheroids")
    css("#new-project button[type=submit]").click()
    wait.until(EC.presence_of_element_located((By.ID, "drop")))
    state["project"] = driver.current_url.split("#/projects/")[1]
    assert css("#project-name").text == "Spheroids"


@step("upload two images")
def upload():
    css("#file-input").send_keys(IMAGE1 + "\n" + IMAGE2)
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#uploads li[data-state=done]")) == 2)
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#images li.tile")) == 2)
    badges = [b.text for b in driver.find_elements(By.CSS_SELECTOR, "#images .badge")]
    assert badges == ["new", "new"], badges
    # thumbnails load through the session cookie
    wait.until(lambda d: d.execute_script(
        "return [...document.querySelectorAll('#images img')].every(i => i.complete && i.naturalWidth > 0)"))


@step("segment and see live status")
def segment():
    wait.until(lambda d: d.execute_script("return document.body.dataset.socket") == "ready")
    driver.execute_script("window.__noReload = true")
    css("#segment-all").click()
    WebDriverWait(driver, SEGMENT_WAIT).until(
        lambda d: [b.text for b in d.find_elements(By.CSS_SELECTOR, "#images .badge")] == ["segmented", "segmented"])
    # the page was not reloaded: the marker set before queueing is still there
    assert driver.execute_script("return window.__noReload") is True


@step("open an image and see polygons")
def open_image():
    tile = css("#images li.tile[data-name='brightfield_0.png']")
    state["image"] = tile.get_attribute("data-id")
    tile.find_element(By.CSS_SELECTOR, "a").click()
    wait.until(lambda d: d.execute_script("const s = document.getElementById('canvas'); return s && s.dataset.ready === 'true'"))
    paths = driver.find_elements(By.CSS_SELECTOR, "#shapes path.poly")
    assert len(paths) >= 1, "no polygons drawn"
    rule = driver.execute_script("return getComputedStyle(arguments[0]).fillRule", paths[0])
    assert rule == "evenodd", rule  # holes stay visible
    box = paths[0].rect
    assert box["width"] > 5 and box["height"] > 5, box
    assert css("#canvas").get_attribute("data-version") == "1"


@step("move a vertex and save")
def edit():
    before = api("GET", f"/api/v1/images/{state['image']}/segmentation")
    state["before"] = before
    # the largest polygon is the easiest to hit
    index = max(range(len(before["polygons"])), key=lambda i: before["polygons"][i]["area"])
    state["index"] = index
    path = css(f"#shapes path.poly[data-index='{index}']")
    driver.execute_script(
        "arguments[0].dispatchEvent(new PointerEvent('pointerdown', {bubbles: true}))", path)
    handle = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#handles circle[data-ring='-1'][data-vertex='0']")))
    # hovering the polygon shows its metrics
    assert "area" in css("#polygon-info").text
    ActionChains(driver).move_to_element(handle).click_and_hold().move_by_offset(25, 18).release().perform()
    wait.until(lambda d: css("#save").is_enabled())
    css("#save").click()
    wait.until(lambda d: css("#canvas").get_attribute("data-version") == "2")


@step("the API returns the new version with changed metrics")
def check_api():
    after = api("GET", f"/api/v1/images/{state['image']}/segmentation")
    before = state["before"]
    assert after["version"] == 2 and after["segmenter"] == "manual", (after["version"], after["segmenter"])
    # exactly one polygon changed, by exactly one vertex (the server may start a ring elsewhere)
    ring = lambda polygon: tuple(sorted(map(tuple, polygon["exterior"])))
    old_rings = {ring(p): p for p in before["polygons"]}
    new_rings = {ring(p): p for p in after["polygons"]}
    gone = [old_rings[r] for r in old_rings if r not in new_rings]
    added = [new_rings[r] for r in new_rings if r not in old_rings]
    assert len(gone) == 1 and len(added) == 1, (len(gone), len(added))
    old, new = gone[0], added[0]
    assert len(set(ring(old)) - set(ring(new))) == 1, "more than one vertex moved"
    assert new["metrics"]["area"] != old["metrics"]["area"], (new["metrics"]["area"], old["metrics"]["area"])
    assert new["metrics"]["perimeter"] != old["metrics"]["perimeter"]
    versions = api("GET", f"/api/v1/images/{state['image']}/segmentation/versions")
    assert [v["version"] for v in versions["items"]][:2] in ([2, 1], [1, 2]), versions


@step("a polygon with a hole shows the hole")
def hole():
    current = api("GET", f"/api/v1/images/{state['image']}/segmentation")
    polygons = [{"class": p["class"], "exterior": p["exterior"], "holes": p["holes"]} for p in current["polygons"]]
    # an empty corner of the image (the spheroids lie elsewhere)
    polygons.append({"exterior": [[10, 380], [140, 380], [140, 500], [10, 500]], "holes": [[[50, 420], [100, 420], [100, 460], [50, 460]]]})
    saved = api("PUT", f"/api/v1/images/{state['image']}/segmentation", {"polygons": polygons})
    assert saved["version"] == 3, saved["version"]
    driver.refresh()
    wait.until(lambda d: d.execute_script("const s = document.getElementById('canvas'); return s && s.dataset.version === '3'"))
    holed = css("#shapes path.poly[data-holes='1']")
    assert holed.get_attribute("d").count("M") == 2
    hit = driver.execute_script(
        "const m = document.getElementById('layer').getScreenCTM();"
        "const at = (x, y) => { const p = new DOMPoint(x, y).matrixTransform(m); return document.elementFromPoint(p.x, p.y); };"
        "return [at(75, 440) === arguments[0], at(25, 395) === arguments[0]]", holed)
    assert hit == [False, True], f"inside the hole / inside the ring hit the polygon: {hit}"


@step("delete, draw, undo and redo by keyboard")
def tools():
    from selenium.webdriver.common.keys import Keys
    count = lambda: len(driver.find_elements(By.CSS_SELECTOR, "#shapes path.poly"))
    start = count()
    css("#canvas").send_keys(Keys.TAB)  # Tab on the image selects the next polygon
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#shapes path.poly.selected"))
    css("#delete-polygon").click()
    wait.until(lambda d: count() == start - 1)
    ActionChains(driver).key_down(Keys.CONTROL).send_keys("z").key_up(Keys.CONTROL).perform()
    wait.until(lambda d: count() == start)
    ActionChains(driver).key_down(Keys.CONTROL).send_keys("y").key_up(Keys.CONTROL).perform()
    wait.until(lambda d: count() == start - 1)
    # draw a triangle in the empty middle of the image
    css("#draw").click()
    canvas = css("#canvas")
    for x, y in [(250, 330), (300, 330), (275, 370)]:
        point = driver.execute_script(
            "const p = new DOMPoint(arguments[0], arguments[1]).matrixTransform(document.getElementById('layer').getScreenCTM());"
            "const r = arguments[2].getBoundingClientRect(); return [p.x - r.left - r.width / 2, p.y - r.top - r.height / 2]", x, y, canvas)
        ActionChains(driver).move_to_element_with_offset(canvas, int(point[0]), int(point[1])).click().perform()
    ActionChains(driver).send_keys(Keys.ENTER).perform()
    wait.until(lambda d: count() == start)
    assert "unsaved changes" in css("#polygon-count").text
    assert css("#save").is_enabled()
    # undo the drawing and the deletion
    for expected in (start - 1, start):
        ActionChains(driver).key_down(Keys.CONTROL).send_keys("z").key_up(Keys.CONTROL).perform()
        wait.until(lambda d: count() == expected)


@step("switch versions and zoom")
def versions_and_zoom():
    before = driver.execute_script("return document.getElementById('layer').getAttribute('transform')")
    driver.find_element(By.CSS_SELECTOR, "button[aria-label='Zoom in']").click()
    assert driver.execute_script("return document.getElementById('layer').getAttribute('transform')") != before
    Select(css("#versions")).select_by_value("1")
    wait.until(EC.alert_is_present())  # the undone edits still count as unsaved
    driver.switch_to.alert.accept()
    wait.until(lambda d: css("#canvas").get_attribute("data-version") == "1")
    assert not driver.find_elements(By.CSS_SELECTOR, "#shapes path.poly[data-holes='1']")
    # the image view fits a tablet's width (one column, no horizontal scrolling)
    driver.set_window_size(820, 1180)
    wait.until(lambda d: d.execute_script("return document.documentElement.scrollWidth") <= 820)
    assert css("#canvas").rect["width"] > 600
    driver.set_window_size(1280, 800)


@step("export COCO and download")
def export():
    driver.get(f"{BASE}/#/projects/{state['project']}")
    wait.until(EC.element_to_be_clickable((By.ID, "export-open"))).click()
    wait.until(EC.visibility_of_element_located((By.ID, "export-start")))
    for box in driver.find_elements(By.CSS_SELECTOR, "dialog input[type=checkbox]"):
        if box.is_selected() != (box.get_attribute("name") == "coco"):
            box.click()
    css("#export-scale").send_keys("0.65")
    css("#export-start").click()
    link = WebDriverWait(driver, SEGMENT_WAIT).until(EC.visibility_of_element_located((By.ID, "export-download")))
    # the archive is readable with the session cookie
    answer = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0].href).then(r => r.blob().then(b => done([r.status, r.headers.get('Content-Type'), r.headers.get('Content-Disposition'), b.size])))"
        ".catch(e => done(String(e)))", link)
    assert answer[0] == 200 and answer[1] == "application/zip" and answer[3] > 0, (answer, link.get_attribute("href"))
    link.click()
    deadline = time.time() + WAIT
    zips = []
    while time.time() < deadline:
        zips = [f for f in os.listdir(DOWNLOADS) if f.endswith(".zip")]
        if zips:
            break
        time.sleep(0.2)
    assert zips, os.listdir(DOWNLOADS)
    with zipfile.ZipFile(os.path.join(DOWNLOADS, zips[0])) as archive:
        names = archive.namelist()
        assert "coco/annotations.json" in names, names
        coco = json.loads(archive.read("coco/annotations.json"))
    assert len(coco["images"]) == 2 and any(a.get("iscrowd") == 1 for a in coco["annotations"]), (len(coco["images"]), len(coco["annotations"]))


@step("a 16-bit TIFF stack: pages, page choice, display")
def tiff_stack():
    # Two pages of 16-bit samples: a disc of 3000 on a background of about 1000, left on page 0, right on page 1.
    import numpy
    import tifffile
    path = os.path.join(ARTIFACTS, "stack.tif")
    y, x = numpy.mgrid[0:192, 0:256]
    noise = numpy.random.default_rng(7).integers(0, 50, size=(192, 256))
    pages = [numpy.where((x - cx) ** 2 + (y - 96) ** 2 <= 40 ** 2, 3000, 1000 + noise).astype(numpy.uint16) for cx in (70, 186)]
    tifffile.imwrite(path, numpy.stack(pages), photometric="minisblack")
    driver.execute_script("document.querySelector('dialog[open]') && document.querySelector('dialog[open]').close()")
    css("#file-input").send_keys(path)
    tile = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#images li.tile[data-name='stack.tif']"))[0]
    assert tile.find_element(By.CSS_SELECTOR, ".pages").text == "2 pages"
    # the thumbnail (a JPEG made from the stretched first page) loads
    wait.until(lambda d: d.execute_script("const i = arguments[0].querySelector('img'); return i.complete && i.naturalWidth > 0", tile))
    # segment page 1 of this image only, with the nuclei preset
    tile.find_element(By.CSS_SELECTOR, "input[type=checkbox]").click()
    Select(css("#preset")).select_by_value("nuclei")
    css("#page").send_keys("1")
    css("#segment-selected").click()
    WebDriverWait(driver, SEGMENT_WAIT).until(lambda d: tile.find_element(By.CSS_SELECTOR, ".badge").text == "segmented")
    tile.find_element(By.CSS_SELECTOR, "a").click()
    wait.until(lambda d: d.execute_script("const s = document.getElementById('canvas'); return s && s.dataset.ready === 'true'"))
    # the editor shows page 1 as a PNG the browser can decode, at the image's size
    href = driver.execute_script("return document.querySelector('#canvas image').getAttribute('href')")
    assert href.endswith("/display?page=1"), href
    shown = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0]).then(r => r.blob().then(b => createImageBitmap(b).then(i => done([r.headers.get('Content-Type'), i.width, i.height]))))"
        ".catch(e => done(String(e)))", href)
    assert shown == ["image/png", 256, 192], shown
    # one polygon, on the right half (page 1's disc)
    paths = driver.find_elements(By.CSS_SELECTOR, "#shapes path.poly")
    assert len(paths) == 1, len(paths)
    picture = driver.find_element(By.CSS_SELECTOR, "#canvas image").rect
    box = paths[0].rect
    middle = (box["x"] + box["width"] / 2 - picture["x"]) / picture["width"]
    assert 0.6 < middle < 0.85, middle
    driver.get(f"{BASE}/#/projects/{state['project']}")
    wait.until(EC.presence_of_element_located((By.ID, "drop")))


@step("share link, pending invitation, rename and delete the project")
def manage():
    driver.execute_script("document.querySelector('dialog[open]') && document.querySelector('dialog[open]').close()")
    css("#members-open").click()
    wait.until(lambda d: "web-tester@example.org" in css("#members").text)
    # an address without an account: listed as pending, then revoked
    css("input[aria-label='Member email']").send_keys("not-yet-here@example.org")
    css("#members").find_element(By.XPATH, "following-sibling::form//button[@type='submit']").click()
    wait.until(lambda d: "not-yet-here@example.org" in css("#members").text and "pending" in css("#members li.pending").text)
    css("#members li.pending button").click()
    wait.until(lambda d: "not-yet-here@example.org" not in css("#members").text)
    css("#share-create").click()
    wait.until(lambda d: "/#/share/" in css("#share-output").text)
    # a share link mailed: the output names the recipient, and the message carries the same link
    css("#share-email").send_keys("link-reader@example.org")
    css("#share-create").click()
    wait.until(lambda d: "mailed to link-reader@example.org" in css("#share-output").text)
    shown = css("#share-output").text.split(": ", 1)[1].strip()
    _, shared = inbox.wait_for(INBOX, "link-reader@example.org", 1, WAIT)[0]
    assert inbox.link(shared, "/#/share/") == shown, (inbox.link(shared, "/#/share/"), shown)
    css("#members-close").click()
    css("#project-rename").click()
    wait.until(EC.alert_is_present())
    prompt = driver.switch_to.alert
    prompt.send_keys("Spheroids renamed")
    prompt.accept()
    wait.until(lambda d: css("#project-name").text == "Spheroids renamed")
    assert api("GET", f"/api/v1/projects/{state['project']}")["name"] == "Spheroids renamed"
    css("#project-delete").click()
    wait.until(EC.alert_is_present())
    driver.switch_to.alert.accept()
    wait.until(EC.presence_of_element_located((By.ID, "projects")))
    wait.until(lambda d: "No projects yet" in css("#projects").text)


@step("tablet width and sign out")
def tablet():
    driver.set_window_size(820, 1180)
    driver.get(f"{BASE}/#/projects")
    wait.until(EC.presence_of_element_located((By.ID, "projects")))
    width = driver.execute_script("return document.documentElement.scrollWidth")
    assert width <= 820, f"horizontal scrolling at tablet width: {width}"
    css("#signout").click()
    wait.until(EC.presence_of_element_located((By.ID, "login-form")))
    assert driver.get_cookie("seg_access") is None


@step("forgot password, the mailed link, a new password, sign in")
def forgot_password():
    driver.set_window_size(1280, 800)
    driver.get(BASE + "/#/login")
    css("#forgot-link").click()
    form = wait.until(EC.presence_of_element_located((By.ID, "forgot-form")))
    form.find_element(By.NAME, "email").send_keys("web-tester@example.org")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(EC.presence_of_element_located((By.ID, "forgot-sent")))
    _, message = inbox.wait_for(INBOX, "web-tester@example.org", 1, WAIT, subject="Reset your SegHub password")[0]
    driver.get(inbox.link(message, "/reset-password"))
    form = wait.until(EC.presence_of_element_located((By.ID, "reset-form")))
    assert driver.current_url == BASE + "/reset-password", driver.current_url
    form.find_element(By.NAME, "password").send_keys("a fresh password")
    form.find_element(By.NAME, "again").send_keys("a fresh passwore")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(lambda d: "differ" in form.find_element(By.CSS_SELECTOR, ".error").text)
    form.find_element(By.NAME, "again").clear()
    form.find_element(By.NAME, "again").send_keys("a fresh password")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(EC.presence_of_element_located((By.ID, "reset-done")))
    css("#reset-signin").click()
    form = wait.until(EC.presence_of_element_located((By.ID, "login-form")))
    form.find_element(By.NAME, "email").send_keys("web-tester@example.org")
    form.find_element(By.NAME, "password").send_keys("correct horse battery")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(lambda d: "Wrong email or password" in css("#auth-error").text)
    form.find_element(By.NAME, "password").clear()
    form.find_element(By.NAME, "password").send_keys("a fresh password")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(EC.presence_of_element_located((By.ID, "projects")))
    assert css("#whoami").text == "web-tester@example.org"


@step("an invitation mailed to a new address, accepted by signing up")
def invitation():
    css("#new-project-name").send_keys("Invited")
    css("#new-project button[type=submit]").click()
    wait.until(EC.presence_of_element_located((By.ID, "drop")))
    project = driver.current_url.split("#/projects/")[1]
    css("#members-open").click()
    wait.until(lambda d: "web-tester@example.org" in css("#members").text)
    css("input[aria-label='Member email']").send_keys("new-colleague@example.org")
    css("#members").find_element(By.XPATH, "following-sibling::form//button[@type='submit']").click()
    wait.until(lambda d: "new-colleague@example.org" in css("#members").text)
    css("#members-close").click()
    _, message = inbox.wait_for(INBOX, "new-colleague@example.org", 1, WAIT)[0]
    link = inbox.link(message, "/invitations")
    css("#signout").click()
    wait.until(EC.presence_of_element_located((By.ID, "login-form")))
    driver.get(link)
    form = wait.until(EC.presence_of_element_located((By.ID, "invitation-register")))
    assert "Invited" in form.text and "new-colleague@example.org" in form.text, form.text
    assert form.find_element(By.NAME, "email").get_attribute("value") == "new-colleague@example.org"
    form.find_element(By.NAME, "name").send_keys("New Colleague")
    form.find_element(By.NAME, "password").send_keys("correct horse battery")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(EC.presence_of_element_located((By.ID, "project-name")))
    assert css("#project-name").text == "Invited"
    assert css("#whoami").text == "new-colleague@example.org"
    assert api("GET", f"/api/v1/projects/{project}")["myRole"] == "editor"


driver.quit()
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
