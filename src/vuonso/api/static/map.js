/* Phone map of plots: loads light GeoJSON for the view or a farm, colours plots by a reading,
   shows the phone's position on request. Needs Leaflet (global L) and #map-config JSON. */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("map-config").textContent);
  var text = config.text;
  var locale = config.lang === "vi" ? "vi-VN" : "en-GB";
  var number = new Intl.NumberFormat(locale, { maximumFractionDigits: 2 });
  var PAGE = 500;       // plots per request
  var MAX_PAGES = 4;    // at most 2000 plots on screen, so a weak phone stays responsive
  var NO_DATA = "#b8bdb5";
  var PLAIN = "#3f8f55";
  // Colour ramps from the low to the high end of each layer's domain.
  var RAMPS = {
    soil_moisture_20cm: ["#a6611a", "#dfc27d", "#c7e9c0", "#80cdc1", "#018571"],
    air_temperature: ["#2c7bb6", "#abd9e9", "#ffffbf", "#fdae61", "#d7191c"],
    rainfall: ["#f1eef6", "#bdc9e1", "#74a9cf", "#2b8cbe", "#045a8d"]
  };

  var statusLine = document.getElementById("map-status");
  var farmSelect = document.getElementById("map-farm");
  var layerSelect = document.getElementById("map-layer");

  var map = L.map("map", { preferCanvas: true, zoomControl: true });
  var values = {};
  var pending = null;
  var farms = {};
  var legend = L.control({ position: "bottomleft" });
  var position = null;

  var tilesFailed = false;

  function say(message, isError) {
    // Once the background map has failed, every status message also reports it.
    statusLine.textContent = tilesFailed ? message + " " + text.tiles_failed : message;
    statusLine.className = "map-status" + (isError ? " error" : "");
  }

  function fill(text, params) {
    return text.replace(/\{(\w+)\}/g, function (whole, name) {
      return params[name] !== undefined ? params[name] : whole;
    });
  }

  function chosenLayer() {
    var name = layerSelect.value;
    return config.layers.filter(function (layer) { return layer.name === name; })[0] || null;
  }

  function colourFor(layer, value) {
    var ramp = RAMPS[layer.name] || RAMPS.rainfall;
    var low = layer.domain[0], high = layer.domain[1];
    var share = (value - low) / (high - low);
    var index = Math.floor(Math.max(0, Math.min(0.999, share)) * ramp.length);
    return ramp[index];
  }

  function style(feature) {
    var layer = chosenLayer();
    if (!layer) {
      return { color: "#1f5130", weight: 1, fillColor: PLAIN, fillOpacity: 0.35 };
    }
    var found = values[feature.id];
    return { color: "#1f5130", weight: 1, fillOpacity: 0.75,
             fillColor: found ? colourFor(layer, found.value) : NO_DATA };
  }

  function popup(feature) {
    var props = feature.properties;
    var rows = [[text.code, props.code], [text.farm, props.farm_code],
                [text.area, number.format(props.area_ha) + " ha"]];

    var layer = chosenLayer();
    var found = values[feature.id];
    if (layer) {
      rows.push([layer.short, found ? number.format(found.value) + " " + layer.unit : text.no_data]);
      if (found && found.time) {
        // HH:MM dd/MM in the phone's time zone, as both languages write it.
        var time = new Date(found.time);
        var two = function (value) { return String(value).padStart(2, "0"); };
        rows.push([text.at, two(time.getHours()) + ":" + two(time.getMinutes()) + " " +
          two(time.getDate()) + "/" + two(time.getMonth() + 1)]);
      }
    }

    var box = document.createElement("div");
    box.className = "map-popup";
    var list = document.createElement("dl");
    rows.forEach(function (row) {
      var term = document.createElement("dt");
      var value = document.createElement("dd");
      term.textContent = row[0];
      value.textContent = row[1] === null || row[1] === undefined ? "—" : row[1];
      list.appendChild(term);
      list.appendChild(value);
    });

    var link = document.createElement("a");
    link.href = config.urls.plotPage.replace("{id}", encodeURIComponent(feature.id)) +
      (config.lang === "vi" ? "" : "?lang=" + config.lang);
    link.textContent = text.open_plot;
    box.appendChild(list);
    box.appendChild(link);
    return box;
  }

  var plots = L.geoJSON(null, {
    style: style,
    onEachFeature: function (feature, shape) {
      // Padding keeps an opened popup clear of the zoom and position buttons.
      shape.bindPopup(function () { return popup(feature); },
                      { maxWidth: 260, autoPanPaddingTopLeft: [8, 56] });
    }
  }).addTo(map);

  legend.onAdd = function () {
    var box = L.DomUtil.create("div", "map-legend");
    box.hidden = true;
    return box;
  };
  legend.addTo(map);

  // The position button sits on the map, so the controls above it take a single row.
  var locateButton = L.DomUtil.create("button", "map-locate");
  var locateControl = L.control({ position: "topright" });
  locateButton.type = "button";
  locateButton.textContent = text.locate;
  L.DomEvent.disableClickPropagation(locateButton);
  locateControl.onAdd = function () { return locateButton; };
  locateControl.addTo(map);

  function drawLegend() {
    var box = legend.getContainer();
    var layer = chosenLayer();
    box.textContent = "";
    box.hidden = !layer;
    if (!layer) { return; }
    var ramp = RAMPS[layer.name] || RAMPS.rainfall;
    var step = (layer.domain[1] - layer.domain[0]) / ramp.length;
    var title = document.createElement("b");
    title.textContent = layer.short + " (" + layer.unit + ")";
    box.appendChild(title);
    ramp.forEach(function (colour, index) {
      var low = layer.domain[0] + step * index;
      var label = index === 0 ? "< " + number.format(low + step)
        : index === ramp.length - 1 ? "≥ " + number.format(low)
        : number.format(low) + " – " + number.format(low + step);
      box.appendChild(legendRow(colour, label));
    });
    box.appendChild(legendRow(NO_DATA, text.no_data));
  }

  function legendRow(colour, label) {
    var row = document.createElement("div");
    var swatch = document.createElement("i");
    swatch.style.background = colour;
    row.appendChild(swatch);
    row.appendChild(document.createTextNode(label));
    return row;
  }

  // The plots on screen and the request that loaded them, so values use the same selection and
  // a small pan (an opening popup pans the map too) does not reload and close the popup.
  var loaded = null;

  function currentZoom() {
    return Math.max(0, Math.min(22, Math.round(map.getZoom())));
  }

  function selection() {
    var params = new URLSearchParams();
    if (farmSelect.value) {
      params.set("farm_code", farmSelect.value);
      return { params: params, bounds: null };
    }
    // A quarter of the view is added on each side, so panning a little stays inside it.
    var bounds = map.getBounds().pad(0.25);
    var clamp = function (value, limit) { return Math.max(-limit, Math.min(limit, value)); };
    params.set("bbox", [clamp(bounds.getWest(), 180), clamp(bounds.getSouth(), 90),
                        clamp(bounds.getEast(), 180), clamp(bounds.getNorth(), 90)]
      .map(function (value) { return value.toFixed(6); }).join(","));
    return { params: params, bounds: bounds };
  }

  function stillLoaded() {
    if (!loaded || loaded.zoom !== currentZoom() || loaded.farm !== farmSelect.value) {
      return false;
    }
    return loaded.bounds === null || (loaded.complete && loaded.bounds.contains(map.getBounds()));
  }

  function getJson(url, signal) {
    return fetch(url, { signal: signal, headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      });
  }

  function loadPlots() {
    if (stillLoaded()) { return; }
    if (pending) { pending.abort(); }
    pending = new AbortController();
    var signal = pending.signal;
    var chosen = selection();
    var query = new URLSearchParams(chosen.params);
    var zoom = currentZoom();
    query.set("zoom", String(zoom));
    query.set("limit", String(PAGE));
    var collected = [];
    say(text.loading);

    function page(offset, count) {
      query.set("offset", String(offset));
      return getJson(config.urls.plots + "?" + query.toString(), signal).then(function (body) {
        collected = collected.concat(body.features);
        if (body.nextOffset !== null && count + 1 < MAX_PAGES) {
          return page(body.nextOffset, count + 1);
        }
        return body.numberMatched;
      });
    }

    page(0, 0).then(function (matched) {
      plots.clearLayers();
      plots.addData(collected);
      loaded = { params: chosen.params, bounds: chosen.bounds, zoom: zoom,
                 farm: farmSelect.value, complete: matched <= collected.length };
      var message = collected.length ? fill(text.shown, { shown: collected.length, matched: matched })
        : text.none;
      if (matched > collected.length) { message += " " + text.more; }
      say(message);
      return loadValues(signal);
    }).catch(function (error) {
      if (error.name !== "AbortError") { say(text.load_failed, true); }
    });
  }

  function loadValues(signal) {
    var layer = chosenLayer();
    values = {};
    drawLegend();
    if (!layer) { plots.setStyle(style); return null; }
    if (!loaded) { return null; }
    var params = new URLSearchParams(loaded.params);
    params.set("metric", layer.name);
    params.set("limit", String(PAGE * MAX_PAGES));
    return getJson(config.urls.values + "?" + params.toString(), signal).then(function (body) {
      body.values.forEach(function (entry) { values[entry.plot_id] = entry; });
      plots.setStyle(style);
    });
  }

  // Every reload goes through here, so a burst of moves and changes costs one request.
  var moved = null;
  function schedule() {
    clearTimeout(moved);
    moved = setTimeout(loadPlots, 250);
  }

  function fitFarm() {
    var farm = farms[farmSelect.value];
    if (farm && farm.bbox) {
      map.fitBounds([[farm.bbox[1], farm.bbox[0]], [farm.bbox[3], farm.bbox[2]]]);
    }
    schedule();
  }

  function locate() {
    locateButton.disabled = true;
    say(text.locating);
    navigator.geolocation.getCurrentPosition(function (found) {
      var spot = [found.coords.latitude, found.coords.longitude];
      if (position) { map.removeLayer(position); }
      position = L.layerGroup([
        L.circle(spot, { radius: found.coords.accuracy, weight: 1, color: "#1565c0", fillOpacity: 0.1 }),
        L.circleMarker(spot, { radius: 7, weight: 2, color: "#fff", fillColor: "#1565c0", fillOpacity: 1 })
      ]).addTo(map);
      farmSelect.value = "";
      map.setView(spot, Math.max(map.getZoom(), 16));
      say(fill(text.located, { accuracy: Math.round(found.coords.accuracy) }));
      locateButton.disabled = false;
    }, function () {
      say(text.locate_failed, true);
      locateButton.disabled = false;
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }

  if (config.tiles) {
    L.tileLayer(config.tiles.url, { attribution: config.tiles.attribution, maxZoom: 19 })
      .on("tileerror", function () {
        if (!tilesFailed) {
          tilesFailed = true;
          say(statusLine.textContent);
        }
      })
      .on("tileload", function () { tilesFailed = false; })
      .addTo(map);
  }

  if (navigator.geolocation) {
    locateButton.addEventListener("click", locate);
  } else {
    locateButton.disabled = true;
    locateButton.title = text.locate_unsupported;
  }

  map.on("moveend", schedule);
  layerSelect.addEventListener("change", function () {
    var loading = loadValues(undefined);
    if (loading) {
      loading.catch(function () { say(text.load_failed, true); });
    }
  });
  farmSelect.addEventListener("change", fitFarm);

  // Links may choose the layer (?layer=) and the farm (?farm_code=); else show every plot.
  var requested = new URLSearchParams(window.location.search);
  if (config.layers.some(function (layer) { return layer.name === requested.get("layer"); })) {
    layerSelect.value = requested.get("layer");
  }
  getJson(config.urls.farms).then(function (body) {
    var bounds = null;
    body.farms.forEach(function (farm) {
      farms[farm.code] = farm;
      var option = document.createElement("option");
      option.value = farm.code;
      option.textContent = farm.name + " (" + farm.plot_count + ")";
      farmSelect.appendChild(option);
      if (farm.bbox) {
        var box = L.latLngBounds([farm.bbox[1], farm.bbox[0]], [farm.bbox[3], farm.bbox[2]]);
        bounds = bounds ? bounds.extend(box) : box;
      }
    });
    var requestedFarm = requested.get("farm_code");
    if (requestedFarm && farms[requestedFarm]) {
      farmSelect.value = requestedFarm;
      fitFarm();
    } else if (bounds) {
      map.fitBounds(bounds);
    } else {
      map.setView([14.06, 108.28], 6);
    }
  }).catch(function () {
    map.setView([14.06, 108.28], 6);
    say(text.load_failed, true);
  });
}());
