/* Client-side search over search.json: progressive enhancement, the site works without it.
   The form stays hidden unless the page is served over HTTP(S): browsers refuse to fetch
   files from file:// pages. Results are built with DOM methods, never innerHTML. */
(function () {
  "use strict";
  var form = document.querySelector("form.search");
  var results = document.getElementById("search-results");
  if (!form || !results || !window.fetch || location.protocol === "file:") return;
  var input = form.querySelector("input");
  var root = form.getAttribute("data-root") || "";
  var indexLinks = form.getAttribute("data-index-links") === "true";
  var stories = null;
  var loading = null;
  var MAX = 20;

  function load() {
    if (!loading) {
      loading = fetch(new URL(root + "search.json", document.baseURI).href)
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (data) {
          stories = (data.stories || []).map(function (s) {
            s.haystack = (s.title + " " + s.summary + " " + (s.sources || []).join(" ")).toLowerCase();
            return s;
          });
        })
        .catch(function (error) { loading = null; throw error; });  // let a later try retry
    }
    return loading;
  }

  function pageHref(page) {
    if (indexLinks) page = page.replace(/\/(#|$)/, "/index.html$1");
    return root + page;
  }

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }

  function show(query) {
    var words = query.toLowerCase().split(/\s+/).filter(Boolean);
    results.textContent = "";
    if (!words.length) { results.hidden = true; return; }
    var hits = stories.filter(function (s) {
      return words.every(function (w) { return s.haystack.indexOf(w) !== -1; });
    });
    var heading = el("p", hits.length === 1 ? "1 story found" : hits.length + " stories found", "search-count");
    results.appendChild(heading);
    var list = el("ol");
    hits.slice(0, MAX).forEach(function (s) {
      var item = el("li");
      var link = el("a", s.title);
      link.href = pageHref(s.page);
      item.appendChild(link);
      item.appendChild(el("span", s.date || "undated", "when"));
      list.appendChild(item);
    });
    if (hits.length) results.appendChild(list);
    if (hits.length > MAX) results.appendChild(el("p", "Showing the first " + MAX + ". Add words to narrow the search."));
    results.hidden = false;
  }

  function update() {
    var query = input.value;
    load().then(function () { show(query); }, function () {
      results.textContent = "";
      results.appendChild(el("p", "Search is not available right now."));
      results.hidden = false;
    });
  }

  form.hidden = false;
  // ?q=words in the address (also what the form submits without this script's handler)
  var initial = new URLSearchParams(location.search).get("q");
  if (initial) { input.value = initial; update(); }
  input.addEventListener("focus", load, { once: true });
  input.addEventListener("input", update);
  form.addEventListener("submit", function (event) { event.preventDefault(); update(); });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { input.value = ""; results.hidden = true; }
  });
})();
