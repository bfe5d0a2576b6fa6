/* Borderwatch: the names beside map markers (gates, the scale bar's ends), written as HTML
   over the map. MapLibre's own text would ask fonts.openmaptiles.org for glyphs: nothing may
   leave the machine. A scattermap trace carries its labels in `text` (escaped by
   dashboard/figures/text.py) and says how to write them in `meta.labels`
   ({position: "top right" | "top center", size, color}); see dashboard/figures/commune_map.py.
   The labels follow every pan, zoom and resize (MapLibre's "render" event) and hide with
   their trace. They are set as text (textContent), never as markup.
   The neighbouring provinces' and countries' names come in the layout's `meta.places`
   ([{lon, lat, text, kind}], styles in `meta.place_style[kind]`, position "center"; see
   dashboard/figures/context.py): written after the markers' labels, never over one. */
(function () {
  "use strict";

  var ENTITIES = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&#34;": "\"", "&#39;": "'" };

  function plain(text) {
    return String(text).replace(/&(amp|lt|gt|#34|#39);/g, function (m) { return ENTITIES[m]; });
  }

  function mapOf(gd) {
    var full = gd && gd._fullLayout;
    var sub = full && full.map && full.map._subplot;
    return sub && sub.map;
  }

  function wanted(gd) {
    var out = [];
    (gd._fullData || []).forEach(function (trace) {
      var labels = trace.meta && trace.meta.labels;
      if (trace.type !== "scattermap" || !labels || trace.visible !== true) { return; }
      var input = (gd.data || [])[trace.index] || {};
      var texts = input.text || [];
      var sizes = (input.marker && input.marker.size) || 6;
      (trace.lon || []).forEach(function (lon, i) {
        var lat = (trace.lat || [])[i];
        var text = Array.isArray(texts) ? texts[i] : texts;
        if (lon === null || lat === null || lon === undefined || !text) { return; }
        out.push({ lon: lon, lat: lat, text: plain(text), labels: labels,
                   marker: Array.isArray(sizes) ? sizes[i] : sizes });
      });
    });
    var meta = (gd.layout && gd.layout.meta) || {};
    var styles = meta.place_style || {};
    (Array.isArray(meta.places) ? meta.places : []).forEach(function (place) {
      if (!place || typeof place.lon !== "number" || typeof place.lat !== "number" || !place.text) {
        return;
      }
      out.push({ lon: place.lon, lat: place.lat, text: plain(place.text),
                 labels: styles[place.kind] || { position: "center" },
                 marker: place.kind === "country" ? -1 : -2 });
    });
    return out;
  }

  function draw(gd, map) {
    var box = map.getContainer();
    var layer = box.querySelector(":scope > .bw-map-labels");
    if (!layer) {
      layer = document.createElement("div");
      layer.className = "bw-map-labels";
      layer.setAttribute("aria-hidden", "true");  // the names are in the hover text too
      layer.style.cssText = "position:absolute;inset:0;pointer-events:none;overflow:hidden;z-index:1;";
      box.appendChild(layer);
    }
    // as MapLibre would: the labels of the larger markers first, none over another
    var items = wanted(gd).sort(function (a, b) { return (b.marker || 0) - (a.marker || 0); });
    while (layer.children.length > items.length) { layer.removeChild(layer.lastChild); }
    var placed = [];
    // the figure's notes over the map (the north arrow): no place's name under them
    var frame = box.getBoundingClientRect();
    var notes = Array.prototype.map.call(gd.querySelectorAll(".annotation"), function (a) {
      var r = a.getBoundingClientRect();
      return [r.left - frame.left, r.top - frame.top, r.right - frame.left, r.bottom - frame.top];
    });
    items.forEach(function (item, i) {
      var span = layer.children[i];
      if (!span) {
        span = document.createElement("span");
        span.className = "bw-map-label";
        layer.appendChild(span);
      }
      if (span.textContent !== item.text) { span.textContent = item.text; }
      var p = map.project([item.lon, item.lat]);
      var centred = item.labels.position === "center";
      var gap = centred ? 0 : Math.max(item.marker || 0, 0) / 2 + 2;
      var right = (item.labels.position || "top right") === "top right";
      span.style.cssText = "position:absolute;white-space:nowrap;line-height:1.15;" +
        "font-family:'Open Sans','Noto Sans',Arial,sans-serif;" +
        "font-size:" + (item.labels.size || 12) + "px;color:" + (item.labels.color || "#111111") +
        ";text-shadow:0 0 2px #fff,0 0 2px #fff,0 0 3px #fff;" +
        (item.labels.italic ? "font-style:italic;" : "") +
        (item.labels.upper ? "letter-spacing:0.2em;font-weight:600;" : "") +
        "left:" + (p.x + (right ? gap : 0)) + "px;top:" + (p.y - gap) + "px;" +
        "transform:translate(" + (right ? "0" : "-50%") + "," + (centred ? "-50%" : "-100%") + ");";
      span.className = centred ? "bw-map-label bw-map-place" : "bw-map-label";
      var w = span.offsetWidth, h = span.offsetHeight;
      var left = p.x + (right ? gap : -w / 2), bottom = p.y - gap + (centred ? h / 2 : 0);
      var box = [left, bottom - h, left + w, bottom];
      var over = function (b) {
        return box[0] < b[2] && b[0] < box[2] && box[1] < b[3] && b[1] < box[3];
      };
      var hidden = placed.some(over) || (centred && notes.some(over));
      span.style.visibility = hidden ? "hidden" : "visible";
      if (!hidden) { placed.push(box); }
    });
  }

  function hook() {
    document.querySelectorAll(".js-plotly-plot").forEach(function (gd) {
      var map = mapOf(gd);
      if (!map || map.__bwLabels) { return; }
      map.__bwLabels = true;
      var redraw = function () { draw(gd, map); };
      map.on("render", redraw);
      if (gd.on) { gd.on("plotly_afterplot", redraw); }
      redraw();
    });
  }

  setInterval(hook, 300);
}());
