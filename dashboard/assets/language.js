/* What the browser draws by itself speaks the page's language (issue 17).

The page's language is the `lang` of the frame the server drew (the app can switch
language without reloading), else the shell's `<html lang>`. This script

- keeps `<html lang>` equal to it (screen readers, spell checkers, fonts);
- hands Dash's date pickers the date-fns locale of that language: a vendored script
  (vendor/date-fns-locale-vi.min.js) registers `vi` on `window.dateFns.locale`, and the
  picker takes the first registered locale matching the browser's languages, else the
  first one; so `window.dateFns.locale` shows the picker only the page's language
  (none on an English page: date-fns's own English);
- says in that language what Dash's scripts write in English: the renderer's
  "Error loading layout", the calendar's buttons ("Previous month" …). The words come
  from the catalogue, through the JSON the page shell carries (dashboard/client_text.py).
*/
(function () {
  "use strict";
  let texts = null;

  function pageLanguage() {
    const frame = document.querySelector("#react-entry-point [lang]");
    return (frame && frame.getAttribute("lang")) || document.documentElement.lang || "vi";
  }

  function messages() {
    if (texts === null) {
      const node = document.getElementById("bw-client-text");
      try {
        texts = node ? JSON.parse(node.textContent) : {};
      } catch (err) {
        texts = {};
      }
    }
    return texts[pageLanguage()] || {};
  }

  // date-fns locales, whichever script registers them first
  const registered = Object.assign({}, (window.dateFns && window.dateFns.locale) || {});
  const view = {
    get locale() {
      const lang = pageLanguage();
      return registered[lang] ? {[lang]: registered[lang]} : {};
    },
  };
  Object.defineProperty(window, "dateFns", {
    configurable: true,
    get: function () { return view; },
    set: function (value) { Object.assign(registered, (value && value.locale) || {}); },
  });

  // the framework's English words, by the element that holds them
  const LABELS = [
    ["button.dash-datepicker-month-nav[aria-label='Previous month']", "previousMonth"],
    ["button.dash-datepicker-month-nav[aria-label='Next month']", "nextMonth"],
    ["[aria-label='Clear Dates'], [aria-label='Clear date']", "clearDates"],
    ["[aria-label='Close calendar']", "closeCalendar"],
    ["[aria-label='Decrease value']", "decrease"],
    ["[aria-label='Increase value']", "increase"],
  ];

  function translateFramework() {
    const lang = pageLanguage();
    if (document.documentElement.lang !== lang) document.documentElement.lang = lang;
    const said = messages();
    document.querySelectorAll("._dash-error").forEach(function (node) {
      if (said.errorPage && node.textContent !== said.errorPage) node.textContent = said.errorPage;
    });
    LABELS.forEach(function ([selector, name]) {
      if (!said[name]) return;
      document.querySelectorAll(selector).forEach(function (node) {
        node.setAttribute("aria-label", said[name]);
        node.setAttribute("title", said[name]);
      });
    });
  }

  let pending = false;
  const observer = new MutationObserver(function () {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(function () {
      pending = false;
      translateFramework();
    });
  });

  function start() {
    // React may turn an element into another in place (the shell's loading line into the
    // renderer's error): a class and a text that change count as much as a new element
    observer.observe(document.body, {childList: true, subtree: true, characterData: true,
                                     attributes: true, attributeFilter: ["lang", "class"]});
    translateFramework();
  }

  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
