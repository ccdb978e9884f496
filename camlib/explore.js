// camlib.explore: the browser side of the book's explorers. Every explorer output carries
// this file and its own data; the first copy on a page defines window.camExplore and the
// others reuse it. Nothing is fetched from the network.
(function () {
  "use strict";
  if (window.camExplore) return;

  // ------------------------------------------------------------------ small helpers
  function el(tag, props, children) {
    const node = document.createElement(tag);
    Object.entries(props || {}).forEach(([key, value]) => {
      if (key === "style") Object.assign(node.style, value);
      else if (key.startsWith("data-")) node.setAttribute(key, value);
      else node[key] = value;
    });
    (children || []).forEach((child) =>
      node.append(typeof child === "string" ? document.createTextNode(child) : child));
    return node;
  }

  function loadPNG(uri) {
    return new Promise((resolve, reject) => {
      const image = new Image();
      image.onload = () => {
        const canvas = document.createElement("canvas");
        canvas.width = image.width;
        canvas.height = image.height;
        const context = canvas.getContext("2d", { willReadFrequently: true });
        context.drawImage(image, 0, 0);
        const pixels = context.getImageData(0, 0, image.width, image.height);
        resolve({ w: image.width, h: image.height, rgba: pixels.data });
      };
      image.onerror = () => reject(new Error("an explorer image did not decode"));
      image.src = uri;
    });
  }

  // One channel of a decoded PNG as values q / 255.
  function channel(png) {
    const values = new Float64Array(png.w * png.h);
    for (let i = 0; i < values.length; i++) values[i] = png.rgba[4 * i] / 255;
    return values;
  }

  // Tile t of a PNG that holds tiles of tileW pixels side by side.
  function tile(png, t, tileW) {
    const values = new Float64Array(tileW * png.h);
    for (let y = 0; y < png.h; y++) {
      for (let x = 0; x < tileW; x++) {
        values[y * tileW + x] = png.rgba[4 * (y * png.w + t * tileW + x)] / 255;
      }
    }
    return values;
  }

  function canvas(w, h, cssWidth, label) {
    return el("canvas", {
      width: w, height: h, title: label || "",
      style: { width: cssWidth + "px", height: (cssWidth * h / w) + "px",
               imageRendering: "pixelated", border: "1px solid #bbb" },
    });
  }

  // Paint w × h pixels; colour(i) returns [r, g, b] for pixel i.
  function paint(target, w, h, colour) {
    const context = target.getContext("2d");
    const pixels = context.createImageData(w, h);
    for (let i = 0; i < w * h; i++) {
      const [r, g, b] = colour(i);
      pixels.data[4 * i] = r; pixels.data[4 * i + 1] = g; pixels.data[4 * i + 2] = b;
      pixels.data[4 * i + 3] = 255;
    }
    context.putImageData(pixels, 0, 0);
  }

  function lutColour(lut, t) {
    const k = Math.max(0, Math.min(255, Math.round(t * 255)));
    return [lut[3 * k], lut[3 * k + 1], lut[3 * k + 2]];
  }

  function grey(t) {
    const v = Math.max(0, Math.min(255, Math.round(t * 255)));
    return [v, v, v];
  }

  // numpy.percentile with linear interpolation.
  function percentile(values, p) {
    const sorted = Float64Array.from(values).sort();
    const position = (p / 100) * (sorted.length - 1);
    const low = Math.floor(position), high = Math.ceil(position);
    return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
  }

  // camlib.plot.robust_limit: the 99.5th percentile of |values|, never 0.
  function robustLimit(values) {
    const absolute = Array.from(values, Math.abs);
    const limit = percentile(absolute, 99.5);
    return limit > 0 ? limit : (Math.max(...absolute) || 1);
  }

  // camlib.filters.correlate2d for a 3×3 kernel: cross-correlation, 'reflect' borders.
  function correlate3(image, w, h, kernel) {
    const out = new Float64Array(w * h);
    const clampX = (x) => (x < 0 ? -x - 1 : x >= w ? 2 * w - x - 1 : x);
    const clampY = (y) => (y < 0 ? -y - 1 : y >= h ? 2 * h - y - 1 : y);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let sum = 0;
        for (let u = 0; u < 3; u++) {
          for (let v = 0; v < 3; v++) {
            sum += kernel[3 * u + v] * image[clampY(y + u - 1) * w + clampX(x + v - 1)];
          }
        }
        out[y * w + x] = sum;
      }
    }
    return out;
  }

  // camlib.localize.box_from_map on a map already scaled to [0, 1]: keep >= threshold,
  // take the largest 8-connected region (ties: larger summed value, then first in
  // row-major order) and return its box and its pixels.
  function largestRegion(scaled, w, h, threshold) {
    const label = new Int32Array(w * h);
    const regions = [];
    for (let start = 0; start < w * h; start++) {
      if (label[start] || scaled[start] < threshold) continue;
      const region = { id: regions.length + 1, area: 0, mass: 0,
                       x0: w, y0: h, x1: 0, y1: 0 };
      const stack = [start];
      label[start] = region.id;
      while (stack.length) {
        const i = stack.pop(), x = i % w, y = (i - x) / w;
        region.area += 1; region.mass += scaled[i];
        region.x0 = Math.min(region.x0, x); region.y0 = Math.min(region.y0, y);
        region.x1 = Math.max(region.x1, x + 1); region.y1 = Math.max(region.y1, y + 1);
        for (let dy = -1; dy <= 1; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            const nx = x + dx, ny = y + dy, j = ny * w + nx;
            if (nx < 0 || ny < 0 || nx >= w || ny >= h || label[j]) continue;
            if (scaled[j] >= threshold) { label[j] = region.id; stack.push(j); }
          }
        }
      }
      regions.push(region);
    }
    if (!regions.length) return { box: [0, 0, 0, 0], label, id: 0 };
    let best = regions[0];
    for (const region of regions) {
      if (region.area > best.area || (region.area === best.area && region.mass > best.mass)) {
        best = region;
      }
    }
    return { box: [best.x0, best.y0, best.x1, best.y1], label, id: best.id };
  }

  // camlib.localize.iou: (x0, y0, x1, y1) boxes with exclusive ends.
  function iou(a, b) {
    const area = (q) => (q[2] - q[0]) * (q[3] - q[1]);
    const width = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
    const height = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
    const overlap = width * height, union = area(a) + area(b) - overlap;
    return union > 0 ? overlap / union : 0;
  }

  function strokeBox(target, box, scale, colour, width) {
    const context = target.getContext("2d");
    context.strokeStyle = colour;
    context.lineWidth = width || 2;
    context.strokeRect(box[0] * scale + 1, box[1] * scale + 1,
                       (box[2] - box[0]) * scale - 2, (box[3] - box[1]) * scale - 2);
  }

  // Draw an RGBA image and, when given, a heat map over it, at scale × its size.
  function drawOver(target, png, heat, lut, alpha, scale) {
    const w = png.w, h = png.h;
    const context = target.getContext("2d");
    const pixels = context.createImageData(w * scale, h * scale);
    for (let y = 0; y < h * scale; y++) {
      for (let x = 0; x < w * scale; x++) {
        const source = Math.floor(y / scale) * w + Math.floor(x / scale);
        let rgb = [png.rgba[4 * source], png.rgba[4 * source + 1], png.rgba[4 * source + 2]];
        if (heat) {
          const c = lutColour(lut, heat[source]);
          rgb = rgb.map((v, k) => Math.round((1 - alpha) * v + alpha * c[k]));
        }
        const o = 4 * (y * w * scale + x);
        pixels.data[o] = rgb[0]; pixels.data[o + 1] = rgb[1]; pixels.data[o + 2] = rgb[2];
        pixels.data[o + 3] = 255;
      }
    }
    context.putImageData(pixels, 0, 0);
  }

  function select(label, options, role) {
    const menu = el("select", { "data-role": role });
    options.forEach((text, i) => menu.append(el("option", { value: String(i) }, [text])));
    return [el("label", {}, [label + " ", menu]), menu];
  }

  function slider(label, min, max, step, value, role) {
    const input = el("input", { type: "range", min, max, step, value, "data-role": role });
    const shown = el("output", { "data-role": role + "-value" }, [String(value)]);
    return [el("label", {}, [label + " ", input, " ", shown]), input, shown];
  }

  function row(children, wrap) {
    return el("div", { style: { display: "flex", gap: "12px", alignItems: "flex-start",
                                flexWrap: wrap === false ? "nowrap" : "wrap",
                                margin: "6px 0" } }, children);
  }

  // A canvas with its caption below; the figure is as wide as the canvas, so that a long
  // caption wraps instead of pushing the next panel onto a new line.
  function figure(caption, node) {
    const width = node.style && node.style.width;
    return el("figure", { style: { margin: "0", textAlign: "center", fontSize: "13px",
                                   width: width || "auto", flex: "0 0 auto" } },
      [node, el("figcaption", { style: { margin: "2px 0 0 0" } }, [caption])]);
  }

  // matplotlib's tab10, the colours of the book's line plots.
  const TAB10 = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                 "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

  // A fixed label with sub- and superscripts, e.g. "M<sub>c</sub>" (never reader data).
  const label = (html) => el("span", { innerHTML: html });

  const fmt = (v, digits) => (Math.abs(v) < 1e-12 ? 0 : v).toFixed(digits);

  // --------------------------------------------------------------- chapter 1: filters
  async function filters(root, data) {
    const photos = await Promise.all(data.images.map((image) => loadPNG(image.png)));
    const [imageLabel, imageMenu] = select("photo", data.images.map((i) => i.name), "image");
    const [kernelLabel, kernelMenu] = select(
      "kernel", data.kernels.map((k) => k.name).concat(["your own"]), "kernel");
    const cells = [];
    const grid = el("div", { style: { display: "grid", gridTemplateColumns: "repeat(3, 56px)",
                                      gap: "2px" } });
    for (let i = 0; i < 9; i++) {
      const cell = el("input", { type: "number", step: "0.1", "data-role": "k" + i,
                                 style: { width: "52px" } });
      cells.push(cell);
      grid.append(cell);
    }
    const side = 220;  // two photos and the kernel fit the 760-px text column
    const views = {}, figures = {};
    [["image", "photo", side], ["response", "response", side],
     ["sobel x", "Sobel x (gx)", 160], ["sobel y", "Sobel y (gy)", 160],
     ["magnitude", "gradient magnitude √(gx² + gy²)", 160]].forEach(([name, text, css]) => {
      views[name] = canvas(1, 1, css, name);
      figures[name] = figure(text, views[name]);
    });
    const note = el("p", { "data-role": "scale", style: { fontSize: "13px" } });
    root.append(
      row([imageLabel, kernelLabel]),
      row([figures.image, el("div", {}, [el("div", {}, ["3×3 kernel (type to edit)"]), grid]),
           figures.response]),
      note,
      row([figures["sobel x"], figures["sobel y"], figures.magnitude]));

    const SOBEL_X = [-1, 0, 1, -2, 0, 2, -1, 0, 1];
    const SOBEL_Y = [-1, -2, -1, 0, 0, 0, 1, 2, 1];
    const state = {};
    root.camState = state;

    function size(target, w, h) {
      const css = parseFloat(target.style.width);
      target.width = w; target.height = h;
      target.style.height = (css * h / w) + "px";
    }

    function showSigned(target, values, w, h, limit) {
      size(target, w, h);
      paint(target, w, h, (i) => lutColour(data.signed_lut, (values[i] / limit + 1) / 2));
    }

    function update() {
      const photo = photos[+imageMenu.value];
      const image = channel(photo);
      const w = photo.w, h = photo.h;
      const kernel = cells.map((cell) => parseFloat(cell.value) || 0);
      const response = correlate3(image, w, h, kernel);
      size(views.image, w, h);
      paint(views.image, w, h, (i) => grey(image[i]));
      const total = kernel.reduce((a, b) => a + b, 0);
      const signed = Math.abs(total) < 1e-6;
      let limit = null;
      if (signed) {
        limit = robustLimit(response);
        showSigned(views.response, response, w, h, limit);
        note.textContent = "The kernel's weights sum to 0, so the response is signed: red is " +
          "positive, blue negative, white 0, on ±" + limit.toPrecision(3) +
          " (99.5th percentile of |response|).";
      } else {
        size(views.response, w, h);
        paint(views.response, w, h, (i) => grey(response[i]));
        note.textContent = "The kernel's weights sum to " + total.toPrecision(3) +
          ", so the response is an image: grey from 0 (black) to 1 (white), clipped.";
      }
      const gx = correlate3(image, w, h, SOBEL_X), gy = correlate3(image, w, h, SOBEL_Y);
      const magnitude = gx.map((v, i) => Math.hypot(v, gy[i]));
      showSigned(views["sobel x"], gx, w, h, robustLimit(gx));
      showSigned(views["sobel y"], gy, w, h, robustLimit(gy));
      const top = percentile(magnitude, 99.5) || 1;
      size(views.magnitude, w, h);
      paint(views.magnitude, w, h, (i) => grey(magnitude[i] / top));
      Object.assign(state, { kernel, response, gx, gy, magnitude, signed, limit,
                             image: +imageMenu.value, width: w, height: h });
      root.dataset.updates = String((+root.dataset.updates || 0) + 1);
    }

    function setKernel(index) {
      if (index < data.kernels.length) {
        data.kernels[index].values.forEach((v, i) => { cells[i].value = String(v); });
      }
      update();
    }

    imageMenu.addEventListener("change", update);
    kernelMenu.addEventListener("change", () => setKernel(+kernelMenu.value));
    cells.forEach((cell) => cell.addEventListener("input", () => {
      kernelMenu.value = String(data.kernels.length);  // "your own"
      update();
    }));
    setKernel(0);
  }

  // ----------------------------------------------------------- chapter 2: activations
  async function activations(root, data) {
    const images = await Promise.all(data.images.map(loadPNG));
    const layers = await Promise.all(data.layers.map(async (layer) => ({
      ...layer, pngs: await Promise.all(layer.maps.map(loadPNG)) })));
    const [imageLabel, imageMenu] = select("image", data.titles, "image");
    const [layerLabel, layerMenu] = select(
      "layer", data.layers.map((l) => l.name + " (" + l.shape.join("×") + ")"), "layer");
    const [channelLabel, channelSlider, channelShown] = slider(
      "channel", 0, data.layers[0].top.length - 1, 1, 0, "channel");
    const [H, W] = data.size;
    const scale = Math.max(1, Math.floor(256 / W));
    const imageView = canvas(W * scale, H * scale, W * scale, "image");
    const mapView = canvas(1, 1, 256, "map");
    const info = el("p", { "data-role": "field", style: { fontSize: "13px" } },
      ["Hover a cell of the map to see the part of the image it sees."]);
    root.append(row([imageLabel, layerLabel, channelLabel]),
                row([figure("image, with the hovered cell's receptive field", imageView),
                     figure("activation map (black 0, white the channel's top)", mapView)]),
                info);
    const state = { hover: null };
    root.camState = state;

    function drawImage(field) {
      drawOver(imageView, images[+imageMenu.value], null, null, 0, scale);
      if (field) strokeBox(imageView, field, scale, "#ff7f0e", 3);
    }

    function update() {
      const layer = layers[+layerMenu.value];
      channelSlider.max = String(layer.top.length - 1);
      if (+channelSlider.value > layer.top.length - 1) channelSlider.value = "0";
      channelShown.textContent = channelSlider.value;
      const [h, w] = layer.shape;
      const values = tile(layer.pngs[+imageMenu.value], +channelSlider.value, w);
      mapView.width = w; mapView.height = h;
      mapView.style.height = (256 * h / w) + "px";
      paint(mapView, w, h, (i) => grey(values[i]));
      Object.assign(state, { layer: layer.name, channel: +channelSlider.value,
                             values, shape: [h, w], field: null });
      drawImage(null);
      root.dataset.updates = String((+root.dataset.updates || 0) + 1);
    }

    // The receptive field of cell (row, col): a square of the field's size centred on
    // (index + 0.5) · stride - 0.5, clipped to the image.
    function fieldOf(layer, rowIndex, colIndex) {
      const centre = (index) => (index + 0.5) * layer.stride - 0.5;
      const half = layer.field / 2;
      const x0 = Math.max(0, Math.round(centre(colIndex) - half + 0.5));
      const y0 = Math.max(0, Math.round(centre(rowIndex) - half + 0.5));
      const x1 = Math.min(W, Math.round(centre(colIndex) + half + 0.5));
      const y1 = Math.min(H, Math.round(centre(rowIndex) + half + 0.5));
      return [x0, y0, x1, y1];
    }

    root.hover = function (rowIndex, colIndex) {
      const layer = layers[+layerMenu.value];
      const field = fieldOf(layer, rowIndex, colIndex);
      const value = state.values[rowIndex * layer.shape[1] + colIndex] *
        layer.top[+channelSlider.value];
      state.hover = [rowIndex, colIndex];
      state.field = field;
      drawImage(field);
      info.textContent = "Cell (row " + rowIndex + ", column " + colIndex + ") of " +
        layer.name + ": activation " + value.toPrecision(3) + ". It sees pixels x " +
        field[0] + "–" + (field[2] - 1) + ", y " + field[1] + "–" + (field[3] - 1) +
        " (receptive field " + layer.field + " px, stride " + layer.stride + " px).";
      root.dataset.updates = String((+root.dataset.updates || 0) + 1);
    };
    mapView.addEventListener("mousemove", (event) => {
      const layer = layers[+layerMenu.value];
      const box = mapView.getBoundingClientRect();
      const colIndex = Math.min(layer.shape[1] - 1,
        Math.floor((event.clientX - box.left) / box.width * layer.shape[1]));
      const rowIndex = Math.min(layer.shape[0] - 1,
        Math.floor((event.clientY - box.top) / box.height * layer.shape[0]));
      root.hover(rowIndex, colIndex);
    });
    [imageMenu, layerMenu].forEach((m) => m.addEventListener("change", update));
    channelSlider.addEventListener("input", update);
    update();
  }

  // ------------------------------------------------------------ chapter 4: CAM as a sum
  async function camSum(root, data) {
    const images = await Promise.all(data.images.map(loadPNG));
    const stacks = await Promise.all(data.per_image.map((p) => loadPNG(p.maps)));
    const [h, w] = data.map_shape;
    const K = data.weights.length, C = data.bias.length;
    const [imageLabel, imageMenu] = select("image", data.titles, "image");
    const [classLabel, classMenu] = select("class c", data.classes, "class");
    const reset = el("button", { type: "button", "data-role": "reset" }, ["reset weights"]);
    const tiles = el("div", { style: { display: "grid", gap: "8px",
                                       gridTemplateColumns: "repeat(4, 1fr)" } });
    const sumView = canvas(w, h, 160, "M_c");
    const overView = canvas(data.size[1], data.size[0], 160, "image");
    const scores = el("div", { "data-role": "scores", style: { fontSize: "14px" } });
    root.append(row([imageLabel, classLabel, reset]),
                row([figure("the image", overView),
                     figure(label("M<sub>c</sub> = Σ<sub>k</sub> w<sub>k</sub><sup>c</sup> " +
                                  "f<sub>k</sub>, all channels"), sumView), scores]),
                el("p", { style: { fontSize: "13px" } }, [label(
                  "The channels with the largest part in S<sub>c</sub>. Each tile: " +
                  "f<sub>k</sub> (grey), then w<sub>k</sub><sup>c</sup> f<sub>k</sub> (red " +
                  "adds to the score, blue subtracts). Drag a weight; M<sub>c</sub> keeps " +
                  "its colour scale until you pick another image or class.")]),
                tiles);
    const state = {};
    root.camState = state;
    let weights = data.weights.map((r) => r.slice());  // (K, C), edited by the sliders
    let features = [];  // K maps of h × w for the current image

    function loadImage() {
      const p = data.per_image[+imageMenu.value];
      features = [];
      for (let k = 0; k < K; k++) {
        const f = tile(stacks[+imageMenu.value], k, w);
        features.push(f.map((v) => v * p.top[k]));
      }
    }

    function mean(values) { return values.reduce((a, b) => a + b, 0) / values.length; }

    let limit = 1;  // M_c's colour scale, fixed while the reader drags weights

    function compose(rescale) {
      const c = +classMenu.value;
      const sum = new Float64Array(w * h);
      for (let k = 0; k < K; k++) {
        const wk = weights[k][c];
        for (let i = 0; i < w * h; i++) sum[i] += wk * features[k][i];
      }
      const score = mean(sum) + data.bias[c];
      if (rescale) limit = Math.max(...Array.from(sum, Math.abs)) || 1;
      paint(sumView, w, h, (i) => lutColour(data.signed_lut, (sum[i] / limit + 1) / 2));
      drawOver(overView, images[+imageMenu.value], null, null, 0, 1);
      const logit = data.per_image[+imageMenu.value].logits[c];
      const all = [];
      for (let cc = 0; cc < C; cc++) {
        let s = data.bias[cc];
        for (let k = 0; k < K; k++) s += weights[k][cc] * mean(features[k]);
        all.push(s);
      }
      const top = Math.max(...all);
      const exp = all.map((s) => Math.exp(s - top));
      const total = exp.reduce((a, b) => a + b, 0);
      scores.replaceChildren(
        el("div", {}, [label("S<sub>c</sub> = mean(M<sub>c</sub>) + b<sub>c</sub> = "),
                       el("b", { "data-role": "score" }, [fmt(score, 3)])]),
        el("div", {}, [label("mean(M<sub>c</sub>) = " + fmt(mean(sum), 3) + ", b<sub>c</sub> = " +
                             fmt(data.bias[c], 3))]),
        el("div", {}, ["the model's own logit (trained weights): " + fmt(logit, 3)]),
        el("div", {}, ["softmax over the classes:"]),
        el("ul", { style: { margin: "0" } }, data.classes.map((name, cc) =>
          el("li", {}, [name + ": " + (100 * exp[cc] / total).toFixed(1) + " %"]))));
      Object.assign(state, { image: +imageMenu.value, cls: c, map: sum, score,
                             logit, scores: all });
      root.dataset.updates = String((+root.dataset.updates || 0) + 1);
      return { sum, limit };
    }

    function buildTiles() {
      const c = +classMenu.value;
      const parts = features.map((f, k) => ({ k, part: Math.abs(weights[k][c] * mean(f)) }));
      parts.sort((a, b) => b.part - a.part);
      const shown = parts.slice(0, data.shown).map((p) => p.k);
      state.shown = shown;
      tiles.replaceChildren();
      const range = Math.max(...weights.map((r) => Math.abs(r[c]))) * 2 || 1;
      shown.forEach((k) => {
        const fView = canvas(w, h, 72, "f_" + k);
        const partView = canvas(w, h, 72, "w_k f_k");
        const topF = Math.max(...features[k]) || 1;
        paint(fView, w, h, (i) => grey(features[k][i] / topF));
        const [weightLabel, input, shownValue] = slider(
          "w", -range, range, "any", weights[k][c], "weight-" + k);
        weightLabel.firstChild.replaceWith(label("w<sub>" + k + "</sub><sup>c</sup> "));
        shownValue.textContent = fmt(weights[k][c], 3);
        function drawPart() {
          const part = features[k].map((v) => v * weights[k][c]);
          const limit = Math.max(...Array.from(part, Math.abs)) || 1;
          paint(partView, w, h, (i) => lutColour(data.signed_lut, (part[i] / limit + 1) / 2));
        }
        input.addEventListener("input", () => {
          weights[k][c] = parseFloat(input.value);
          shownValue.textContent = fmt(weights[k][c], 3);
          drawPart();
          compose();
        });
        drawPart();
        tiles.append(el("div", { style: { fontSize: "12px" } }, [
          el("div", {}, [label("channel " + k + ", mean f<sub>k</sub> = " +
                               fmt(mean(features[k]), 3))]),
          row([fView, partView], false), weightLabel]));
      });
    }

    root.setWeight = function (k, value) {  // for tests and for the console
      weights[k][+classMenu.value] = value;
      const input = root.querySelector('[data-role="weight-' + k + '"]');
      if (input) input.value = String(value);
      return compose();
    };
    root.features = () => features;
    function full() { loadImage(); buildTiles(); compose(true); }
    imageMenu.addEventListener("change", full);
    classMenu.addEventListener("change", () => { buildTiles(); compose(true); });
    reset.addEventListener("click", () => {
      weights = data.weights.map((r) => r.slice());
      full();
    });
    full();
  }

  // ------------------------------------------------------------- chapter 5: map to box
  async function mapToBox(root, data) {
    const images = await Promise.all(data.images.map(loadPNG));
    const names = Object.keys(data.maps);
    const maps = {};
    for (const name of names) maps[name] = await Promise.all(data.maps[name].map(loadPNG));
    const [H, W] = data.size;
    const scale = Math.max(1, Math.floor(256 / W));
    const [imageLabel, imageMenu] = select("image", data.titles, "image");
    const [methodLabel, methodMenu] = select("method", names, "method");
    const [thresholdLabel, thresholdSlider] = slider("threshold", 0.01, 0.99, 0.01, 0.2,
                                                     "threshold");
    // Three panels side by side in the 690-px text column.
    const mapView = canvas(W * scale, H * scale, 176, "map");
    const keptView = canvas(W * scale, H * scale, 176, "kept");
    const curve = el("canvas", { width: 260, height: 200, "data-role": "curve",
                                 style: { width: "260px", height: "200px" } });
    const legend = el("div", { style: { fontSize: "13px", textAlign: "left" } },
      names.map((name, m) => el("div", {}, [
        el("span", { style: { color: TAB10[m % 10], fontWeight: "bold" } }, ["━ "]), name])));
    const result = el("p", { "data-role": "result", style: { fontSize: "14px" } });
    root.append(row([imageLabel, methodLabel, thresholdLabel]),
                row([figure("map over the image; red: true box, green: the box", mapView),
                     figure("kept pixels (grey), the largest region (orange)", keptView),
                     el("div", {}, [figure("localization accuracy on all " + data.n_images +
                                           " images", curve), legend])]), result);
    const state = {};
    root.camState = state;

    function drawCurve(threshold) {
      const context = curve.getContext("2d");
      const left = 30, right = 8, top = 8, bottom = 34;
      const plotW = curve.width - left - right, plotH = curve.height - top - bottom;
      context.clearRect(0, 0, curve.width, curve.height);
      context.font = "12px sans-serif";
      context.fillStyle = "#000";
      context.strokeStyle = "#999";
      context.strokeRect(left, top, plotW, plotH);
      const px = (t) => left + t * plotW, py = (a) => top + (1 - a) * plotH;
      [0, 0.5, 1].forEach((a) => context.fillText(a.toFixed(1), 4, py(a) + 4));
      [0, 0.5, 1].forEach((t) => context.fillText(t.toFixed(1), px(t) - 8, top + plotH + 16));
      context.fillText("threshold", left + plotW / 2 - 26, curve.height - 4);
      names.forEach((name, m) => {
        context.strokeStyle = TAB10[m % 10];
        context.lineWidth = name === names[+methodMenu.value] ? 3 : 1.5;
        context.beginPath();
        data.thresholds.forEach((t, i) => {
          const f = i ? "lineTo" : "moveTo";
          context[f](px(t), py(data.curves[name][i]));
        });
        context.stroke();
      });
      context.strokeStyle = "#000";
      context.setLineDash([4, 3]);
      context.beginPath();
      context.moveTo(px(threshold), top);
      context.lineTo(px(threshold), top + plotH);
      context.stroke();
      context.setLineDash([]);
    }

    function update() {
      const i = +imageMenu.value, name = names[+methodMenu.value];
      const threshold = parseFloat(thresholdSlider.value);
      root.querySelector('[data-role="threshold-value"]').textContent = threshold.toFixed(2);
      const scaled = channel(maps[name][i]);
      const region = largestRegion(scaled, W, H, threshold);
      const truth = data.boxes[i];
      const overlap = iou(region.box, truth);
      drawOver(mapView, images[i], scaled, data.heat_lut, 0.45, scale);
      strokeBox(mapView, truth, scale, "#d62728", 2);
      if (region.id) strokeBox(mapView, region.box, scale, "#2ca02c", 3);
      const keptColour = (j) => (region.label[j] === region.id && region.id ? [255, 127, 14]
        : scaled[j] >= threshold ? [150, 150, 150] : [255, 255, 255]);
      const context = keptView.getContext("2d");
      const pixels = context.createImageData(W * scale, H * scale);
      for (let y = 0; y < H * scale; y++) {
        for (let x = 0; x < W * scale; x++) {
          const c = keptColour(Math.floor(y / scale) * W + Math.floor(x / scale));
          const o = 4 * (y * W * scale + x);
          pixels.data[o] = c[0]; pixels.data[o + 1] = c[1]; pixels.data[o + 2] = c[2];
          pixels.data[o + 3] = 255;
        }
      }
      context.putImageData(pixels, 0, 0);
      strokeBox(keptView, truth, scale, "#d62728", 2);
      const kept = scaled.reduce((n, v) => n + (v >= threshold ? 1 : 0), 0);
      const hit = overlap >= data.iou_threshold;
      const k = data.thresholds.reduce((best, t, j) =>
        Math.abs(t - threshold) < Math.abs(data.thresholds[best] - threshold) ? j : best, 0);
      result.replaceChildren(
        "Kept " + kept + " of " + W * H + " pixels; the largest region has " +
        (region.id ? region.label.filter((v) => v === region.id).length : 0) +
        " pixels. Its box " + JSON.stringify(region.box) + " has IoU ",
        el("b", { "data-role": "iou" }, [overlap.toFixed(3)]),
        " with the true box: " + (hit ? "a hit" : "a miss") + " (IoU ≥ " +
        data.iou_threshold + "). On all " + data.n_images + " images, " + name +
        " localizes " + (100 * data.curves[name][k]).toFixed(0) + " % at threshold " +
        data.thresholds[k].toFixed(2) + ".");
      drawCurve(threshold);
      Object.assign(state, { image: i, method: name, threshold, box: region.box,
                             iou: overlap, kept });
      root.dataset.updates = String((+root.dataset.updates || 0) + 1);
    }
    [imageMenu, methodMenu].forEach((m) => m.addEventListener("change", update));
    thresholdSlider.addEventListener("input", update);
    update();
  }

  // ------------------------------------------------------ chapter 7: methods side by side
  async function methods(root, data) {
    const images = await Promise.all(data.images.map(loadPNG));
    const names = Object.keys(data.methods);
    const maps = {};
    for (const name of names) {
      maps[name] = await Promise.all(data.methods[name].maps.map(loadPNG));
    }
    const [H, W] = data.size;
    const [imageLabel, imageMenu] = select("image", data.titles, "image");
    const grid = el("div", { style: { display: "grid", gap: "8px",
                                      gridTemplateColumns: "repeat(4, 1fr)" } });
    const summary = el("p", { "data-role": "summary", style: { fontSize: "14px" } });
    root.append(row([imageLabel]), el("p", { style: { fontSize: "13px" } }, [
      "Red: the true box. Green: the method's box at its threshold. The white cross is the " +
      "map's largest pixel, the point of the pointing game."]), grid, summary);
    const state = {};
    root.camState = state;
    const scale = Math.max(1, Math.floor(144 / W));

    function update() {
      const i = +imageMenu.value;
      grid.replaceChildren();
      const hits = {};
      names.forEach((name) => {
        const method = data.methods[name];
        const scaled = channel(maps[name][i]);
        const view = canvas(W * scale, H * scale, 144, name);
        drawOver(view, images[i], scaled, data.heat_lut, 0.5, scale);
        strokeBox(view, data.boxes[i], scale, "#d62728", 2);
        strokeBox(view, method.boxes[i], scale, "#2ca02c", 2);
        let peak = 0;
        for (let j = 1; j < scaled.length; j++) if (scaled[j] > scaled[peak]) peak = j;
        const context = view.getContext("2d");
        const px = (peak % W + 0.5) * scale, py = (Math.floor(peak / W) + 0.5) * scale;
        context.strokeStyle = "#fff";
        context.lineWidth = 2;
        context.beginPath();
        context.moveTo(px - 6, py); context.lineTo(px + 6, py);
        context.moveTo(px, py - 6); context.lineTo(px, py + 6);
        context.stroke();
        hits[name] = method.hits[i];
        grid.append(figure(name + ": " + (method.hits[i] ? "hit" : "miss") + ", IoU " +
                           method.ious[i].toFixed(2), view));
      });
      const count = Object.values(hits).filter(Boolean).length;
      summary.textContent = count + " of " + names.length +
        " methods put their largest value inside the true box on this image.";
      Object.assign(state, { image: i, hits });
      root.dataset.updates = String((+root.dataset.updates || 0) + 1);
    }
    imageMenu.addEventListener("change", update);
    update();
  }

  const kinds = { filters, activations, cam_sum: camSum, map_to_box: mapToBox, methods };

  window.camExplore = {
    version: 1,
    helpers: { correlate3, largestRegion, iou, percentile, robustLimit, loadPNG },
    mount(root) {
      if (!root || root.dataset.ready) return;
      const data = JSON.parse(root.querySelector("script.cam-explore-data").textContent);
      const body = el("div", { className: "cam-explore-body" });
      root.append(body);
      kinds[data.kind](body, data).then(() => {
        root.camState = body.camState;
        root.api = body;
        root.dataset.ready = "1";
      }).catch((error) => {
        root.dataset.ready = "error";
        body.append(el("p", {}, ["The explorer could not start: " + error.message]));
        throw error;
      });
    },
  };
})();
