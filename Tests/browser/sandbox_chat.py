#!/usr/bin/env python3
"""Drives `bridgeos demo --interactive`'s /sandbox web chat in headless Chromium, as a person would.

Adds a manager (English) and a worker (Spanish) by clicking, registers the manager through the bot's buttons,
invites the worker, opens the invite link as the worker, joins in Spanish, and exchanges a message each way;
checks that both chats show it in the reader's language and saves a screenshot.

Then the admin side: sets a dashboard password with `bridgeos admin set-password` (on stdin), signs in on the
dashboard's form, checks the overview, finds Marta on the managers page, opens her conversation with Iván
and checks the original and the translation side by side; saves a second screenshot (…-dashboard.png).
Talks to 127.0.0.1 only.

usage: sandbox_chat.py <bridgeos executable> <screenshot.png>
"""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

MORNING_EN = "Good morning! Today we start on the third floor."
MORNING_ES = "¡Buenos días! Hoy empezamos en el tercer piso."
WAY_ES = "Perfecto, voy para allá."
WAY_EN = "Great, on my way."


def address(demo, log_path, seconds=60):
    """The web chat's address, as the demo prints it once it listens (it picks a free port)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if demo.poll() is not None:
            raise RuntimeError(f"bridgeos demo --interactive exited {demo.returncode} before listening")
        found = re.search(r"http://127\.0\.0\.1:(\d+)/sandbox", open(log_path).read())
        if found:
            return f"http://127.0.0.1:{found.group(1)}"
        time.sleep(0.1)
    raise RuntimeError(f"bridgeos demo --interactive printed no address within {seconds} s")


def wait_for_http(url, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {seconds} s")


class Person:
    """The browser, acting as whoever is picked on the left."""

    def __init__(self, driver, base):
        self.driver = driver
        self.base = base
        # The page replaces the chat's HTML when it changes: an element found a moment ago may be gone.
        self.wait = WebDriverWait(driver, 30, ignored_exceptions=(StaleElementReferenceException,))

    def add(self, name, language):
        form = self.driver.find_element(By.ID, "add-person")
        form.find_element(By.NAME, "name").send_keys(name)
        Select(form.find_element(By.NAME, "language")).select_by_value(language)
        form.find_element(By.TAG_NAME, "button").click()
        self.wait.until(EC.presence_of_element_located((By.XPATH, f"//ul[@id='people']/li[@class='current']/a[text()='{name}']")))

    def pick(self, name, bot=1):
        self.driver.find_element(By.XPATH, f"//ul[@id='people']//a[text()='{name}']").click()
        self.wait.until(EC.presence_of_element_located((By.XPATH, f"//h2[starts-with(., \"{name}'s chat\")]")))
        if bot != 1:
            self.driver.find_element(By.XPATH, f"//nav/a[contains(., '_{bot}_bot')]").click()
            self.wait.until(EC.presence_of_element_located((By.XPATH, f"//h2[contains(., '_{bot}_bot')]")))

    def send(self, text):
        box = self.driver.find_element(By.ID, "text")
        box.send_keys(text)
        self.driver.find_element(By.ID, "send").click()
        self.see(text)

    def see(self, text):
        """Waits until the open chat shows `text` (the page refreshes the chat every second)."""
        self.wait.until(lambda d: any(text in t for t in self.texts(everyone=True)), f"the chat never showed {text!r}")

    def tap(self, label):
        """Presses the newest inline button with this label (again if the chat was replaced under the click)."""
        def pressed(d):
            found = d.find_elements(By.XPATH, f"//div[@id='chat']//button[normalize-space()='{label}']")
            if not found:
                return False
            found[-1].click()
            return True
        self.wait.until(pressed, f"no button {label!r}")

    def texts(self, everyone=False):
        """The texts in the open chat: the bot's, or everyone's. Read in one go, so a refresh cannot split it."""
        selector = "#chat .msg .text" if everyone else "#chat .msg.bot .text"
        return self.driver.execute_script(f"return [...document.querySelectorAll('{selector}')].map(e => e.innerText)")


def dashboard(driver, executable, base, data_dir, log_path, screenshot):
    """The admin's view of the same story, signed in through the dashboard's own form."""
    assert re.search(r"admin dashboard \(one-time sign-in link, 15 minutes\): http://127\.0\.0\.1:\d+/admin/link\?token=", open(log_path).read()), \
        "the interactive demo printed no dashboard link"
    password = "correct horse battery staple"
    made = subprocess.run([executable, "admin", "set-password", "--username", "ada", "--data-dir", data_dir], input=password + "\n",
                          capture_output=True, text=True, timeout=60, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    assert made.returncode == 0, made.stderr
    wait = WebDriverWait(driver, 30)
    driver.get(base + "/admin")
    wait.until(EC.presence_of_element_located((By.XPATH, "//h1[normalize-space()='Sign in']")))
    driver.find_element(By.NAME, "username").send_keys("ada")
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.XPATH, "//form//button[normalize-space()='Sign in']").click()
    wait.until(EC.presence_of_element_located((By.XPATH, "//h1[normalize-space()='Overview']")))
    stats = {e.find_element(By.CLASS_NAME, "label").text: e.find_element(By.CLASS_NAME, "value").text
             for e in driver.find_elements(By.CSS_SELECTOR, ".stat")}
    assert stats.get("managers") == "1" and stats.get("workers") == "1" and stats.get("active connections") == "1", stats
    assert driver.find_elements(By.CSS_SELECTOR, "svg.chart rect"), "no chart"
    driver.find_element(By.LINK_TEXT, "Managers").click()
    wait.until(EC.presence_of_element_located((By.LINK_TEXT, "Marta"))).click()
    wait.until(EC.presence_of_element_located((By.LINK_TEXT, "Conversation"))).click()
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "table.conversation")))
    rows = [[td.text for td in tr.find_elements(By.TAG_NAME, "td")] for tr in driver.find_elements(By.CSS_SELECTOR, "table.conversation tbody tr")]
    assert any(MORNING_EN in r[2] and MORNING_ES in r[3] for r in rows if len(r) == 4), rows
    assert any(WAY_ES in r[2] and WAY_EN in r[3] for r in rows if len(r) == 4), rows
    assert "Marta ⇄ Iván" in driver.find_element(By.TAG_NAME, "h1").text
    driver.save_screenshot(screenshot)
    print(f"browser: signed in to the dashboard, overview counts right, the conversation shows original and translation; screenshot {screenshot}")


def main():
    executable, screenshot = sys.argv[1], sys.argv[2]
    data = tempfile.mkdtemp(prefix="bridgeos-browser-")
    log_path = os.path.join(data, "demo.log")
    log = open(log_path, "w")
    demo = subprocess.Popen([executable, "demo", "--interactive", "--listen", "127.0.0.1:0", "--data-dir", os.path.join(data, "data")],
                            stdout=log, stderr=subprocess.STDOUT, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    options = Options()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,1000"):
        options.add_argument(flag)
    driver = None
    try:
        base = address(demo, log_path)
        wait_for_http(base + "/healthz")
        driver = webdriver.Chrome(options=options, service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")))
        driver.get(base + "/sandbox")
        me = Person(driver, base)

        # Two people, added by clicking.
        me.add("Marta", "en")
        me.add("Iván", "es")

        # Marta registers through the bot's buttons.
        me.pick("Marta")
        me.send("/start")
        me.tap("English")
        me.tap("Woman")
        me.tap("Construction")
        me.see("Your manager code")

        # She invites a worker; the link is opened as Iván.
        me.send("/addworker")
        me.see("https://t.me/acme_crew_1_bot?start=")
        def open_as_ivan(d):
            forms = d.find_elements(By.CSS_SELECTOR, "form.open-link")
            if not forms:
                return False
            Select(forms[-1].find_element(By.NAME, "user")).select_by_visible_text("Iván")
            forms[-1].find_element(By.CSS_SELECTOR, "button.open").click()
            return True
        me.wait.until(open_as_ivan, "no invite link to open")
        me.wait.until(EC.presence_of_element_located((By.XPATH, "//h2[starts-with(., \"Iván's chat\")]")))
        me.tap("Español")
        me.tap("Hombre")
        me.see("Estás conectado con Marta")

        # A message each way, each read in its reader's language.
        me.pick("Marta")
        me.see("Iván joined line 1")
        me.send(MORNING_EN)
        me.pick("Iván")
        me.see(MORNING_ES)
        assert MORNING_ES in me.texts(), me.texts()
        me.send(WAY_ES)
        me.pick("Marta")
        me.see(WAY_EN)
        assert WAY_EN in me.texts(), me.texts()
        assert not any(MORNING_ES in t for t in me.texts()), "Marta must not see the Spanish translation"
        driver.save_screenshot(screenshot)
        print(f"browser: manager and worker registered by clicking, a message each way in the right language; screenshot {screenshot}")

        dashboard(driver, executable, base, os.path.join(data, "data"), log_path, screenshot.replace(".png", "-dashboard.png"))
    except BaseException:
        if driver is not None:
            driver.save_screenshot(screenshot)
            print(f"browser: failed on {driver.current_url}; screenshot {screenshot}", file=sys.stderr)
        log.flush()
        print(open(log_path).read()[-3000:], file=sys.stderr)
        raise
    finally:
        if driver is not None:
            driver.quit()
        demo.send_signal(signal.SIGTERM)
        try:
            status = demo.wait(timeout=30)
        except subprocess.TimeoutExpired:
            demo.kill()
            raise SystemExit("bridgeos demo --interactive did not stop on SIGTERM")
    if status != 0:
        raise SystemExit(f"bridgeos demo --interactive exited {status} on SIGTERM")


if __name__ == "__main__":
    main()
