// The page's CSS: the Old School RuneScape hiscores' look (dark stone frame, parchment,
// browns and golds), system fonts only, nothing fetched.
export const PAGE_STYLE = String.raw`
:root {
  --stone: #2a231a; --stone-2: #3b3124; --edge: #5b4a33; --edge-dark: #1b150e;
  --parchment: #e4d6b0; --parchment-2: #d6c59a; --parchment-3: #c9b687; --ink: #2e2213;
  --brown: #6b4f2a; --gold: #ffb83f; --gold-2: #e0a22f; --gold-dark: #a8741a; --link: #5a3b0c;
  --hl: #fbe6a2;
}
* { box-sizing: border-box; }
html { background: var(--stone); }
body {
  margin: 0; min-height: 100vh; color: var(--ink);
  font: 15px/1.45 "DejaVu Sans", "Verdana", "Noto Sans", "Noto Sans CJK JP", sans-serif, "Noto Color Emoji";
  background:
    radial-gradient(ellipse at 50% -10%, rgba(255, 184, 63, 0.16), transparent 60%),
    repeating-linear-gradient(45deg, rgba(0,0,0,0.05) 0 2px, transparent 2px 6px),
    linear-gradient(var(--stone-2), var(--stone) 40%, #1d1811);
}
.frame { max-width: 1080px; margin: 0 auto; padding: 18px 16px 28px; }
.banner { text-align: center; padding: 6px 0 14px; }
.banner h1 {
  margin: 0; font: bold 44px/1.1 Georgia, "DejaVu Serif", "Noto Serif", serif; letter-spacing: 1px;
  color: var(--gold); text-shadow: 0 2px 0 #000, 0 0 18px rgba(255, 152, 31, 0.35);
}
.banner .asof { margin: 4px 0 0; color: #cbb98f; font-size: 13px; }
.scroll {
  display: grid; grid-template-columns: 220px minmax(0, 1fr); gap: 20px;
  background: linear-gradient(180deg, var(--parchment), var(--parchment-2));
  border: 3px solid var(--edge); outline: 2px solid var(--edge-dark); border-radius: 6px;
  box-shadow: inset 0 0 40px rgba(107, 79, 42, 0.35), 0 8px 26px rgba(0, 0, 0, 0.6);
  padding: 16px;
}
h2 { font: bold 20px/1.25 Georgia, "DejaVu Serif", serif; color: var(--brown); margin: 0 0 10px; }
h2 small { font: 13px "DejaVu Sans", sans-serif; color: #6f5a3a; margin-left: 6px; }
.skills h2, .search label { font: bold 16px Georgia, "DejaVu Serif", serif; color: var(--brown); display: block; margin: 0 0 8px; }
.skills ul { list-style: none; margin: 0; padding: 0; border: 2px solid var(--parchment-3); border-radius: 4px; background: rgba(255, 255, 255, 0.18); }
.skills li + li { border-top: 1px solid var(--parchment-3); }
.skills a { display: flex; align-items: center; gap: 8px; padding: 5px 8px; color: var(--link); text-decoration: none; font-weight: bold; }
.skills a:hover { background: rgba(255, 184, 63, 0.25); }
.skills a.on { background: linear-gradient(var(--gold), var(--gold-2)); color: #2b1a05; box-shadow: inset 0 -2px 0 var(--gold-dark); }
.icon { display: inline-block; width: 1.4em; text-align: center; font-family: "Noto Color Emoji", sans-serif; }
.switchers { display: flex; flex-wrap: wrap; gap: 8px 18px; margin-bottom: 12px; }
.switch { display: flex; flex-wrap: wrap; align-items: center; gap: 4px; }
.switch-label { font-weight: bold; color: var(--brown); margin-right: 4px; font-size: 13px; text-transform: uppercase; letter-spacing: 0.5px; }
button {
  font: inherit; font-size: 13px; cursor: pointer; color: #f4e4b8; padding: 3px 10px;
  background: linear-gradient(#6d5535, #4a3820); border: 1px solid var(--edge-dark); border-radius: 3px;
  box-shadow: inset 0 1px 0 rgba(255, 255, 255, 0.15);
}
button:hover:not(:disabled) { background: linear-gradient(#836641, #5a4427); }
button.on, button.on:hover:not(:disabled) { background: linear-gradient(var(--gold), var(--gold-2)); color: #2b1a05; border-color: var(--gold-dark); font-weight: bold; }
button:disabled { opacity: 0.45; cursor: default; }
select { font: inherit; font-size: 13px; padding: 3px 6px; border-radius: 3px; border: 1px solid #2b1d0e; background: #f3e7c6; color: #2b1a05; }
select.on { background: linear-gradient(var(--gold), var(--gold-2)); border-color: var(--gold-dark); font-weight: bold; }
button:focus-visible, a:focus-visible, input:focus-visible, select:focus-visible { outline: 2px solid var(--gold-dark); outline-offset: 1px; }
table.hiscores { width: 100%; border-collapse: collapse; background: rgba(255, 255, 255, 0.22); border: 2px solid var(--parchment-3); }
.hiscores th {
  white-space: nowrap; text-align: left; padding: 6px 10px; color: #f6e7bf; font-size: 13px; letter-spacing: 0.4px;
  background: linear-gradient(#5f4829, #45341d); border-bottom: 2px solid var(--edge-dark);
}
.hiscores td { padding: 4px 10px; border-bottom: 1px dotted #b8a274; white-space: nowrap; }
.hiscores tbody tr:nth-child(even) td { background: rgba(107, 79, 42, 0.07); }
.hiscores tbody tr:hover td { background: rgba(255, 184, 63, 0.22); }
.hiscores tr.hl td { background: var(--hl); font-weight: bold; }
.hiscores .num { text-align: right; font-variant-numeric: tabular-nums; }
.hiscores td.rank { color: var(--brown); width: 4.5em; }
.hiscores td.name { width: 100%; overflow: hidden; text-overflow: ellipsis; max-width: 0; }
.hiscores td.name a, .hiscores td.skill a { color: var(--link); font-weight: bold; text-decoration: none; }
.hiscores td.name a:hover, .hiscores td.skill a:hover { text-decoration: underline; }
.hiscores td.level.max { color: #8a5a00; text-shadow: 0 0 6px rgba(255, 184, 63, 0.9); font-weight: bold; }
.hiscores td.value { color: #4b3a22; }
.hiscores td.empty { text-align: center; color: #6f5a3a; padding: 18px; font-style: italic; }
.personal td.skill { width: 100%; }
.personal td.skill .icon { margin-right: 6px; }
.side .search { margin-bottom: 18px; }
.side .note:empty { display: none; }
.pager { display: flex; align-items: center; justify-content: center; gap: 6px; margin-top: 10px; }
.pager .pos { margin: 0 8px; color: var(--brown); font-weight: bold; font-size: 13px; }
.search form { display: grid; grid-template-columns: minmax(0, 1fr) auto; gap: 6px; }
.search label { grid-column: 1 / -1; margin: 0; }
.search input {
  font: inherit; padding: 6px 8px; border: 2px solid var(--edge); border-radius: 3px;
  background: #fbf3dc; color: var(--ink);
}
.search input { min-width: 0; }
.search button { padding: 5px 12px; font-weight: bold; }
.note { color: #6f5a3a; font-size: 13px; }
.who { color: #2b1a05; background: linear-gradient(transparent 60%, rgba(255, 184, 63, 0.55) 60%); padding: 0 2px; }
figure.history { margin: 16px 0 8px; padding: 10px 12px 4px; border: 2px solid var(--parchment-3); background: rgba(255, 255, 255, 0.22); }
figure.history figcaption { font-weight: bold; color: var(--brown); font-size: 13px; margin-bottom: 4px; }
svg.chart { max-width: 100%; height: auto; display: block; }
svg.chart .bar { fill: #d99a2b; stroke: #7a5314; stroke-width: 1; }
svg.chart .bar:hover { fill: var(--gold); }
svg.chart .axis { stroke: #7a5a2c; stroke-width: 1; }
svg.chart text { font: 11px "DejaVu Sans", sans-serif; fill: #5b4526; text-anchor: middle; }
svg.chart .barval { fill: #3a2506; font-size: 10px; font-weight: bold; }
svg.chart .yr { font-weight: bold; }
.back { margin-top: 8px; }
footer { text-align: center; color: #9c8a66; font-size: 12px; margin-top: 14px; }
[hidden] { display: none !important; }
html:not(.js) .pager, html:not(.js) .search, html:not(.js) .switch button:not(.on) { opacity: 0.6; }
@media (max-width: 860px) {
  .scroll { grid-template-columns: 1fr; }
  .skills ul { display: flex; flex-wrap: wrap; }
  .skills li + li { border-top: 0; }
  .hiscores td.xp, .hiscores th.xp { display: none; }
}
`;
