/** ECharts, registered with only the parts the views use (keeps the bundle small; no CDN, canvas renderer). */
import { use } from 'echarts/core';
import { BarChart, LineChart } from 'echarts/charts';
import {
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  MarkAreaComponent,
  TitleComponent,
  TooltipComponent,
} from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

use([
  BarChart,
  LineChart,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  MarkAreaComponent,
  TitleComponent,
  TooltipComponent,
  CanvasRenderer,
]);

/** Shared colours and text style of every chart, matching the app's dark theme. */
export const CHART_TEXT = { color: '#9aa3b2', fontSize: 11 };
export const AXIS_LINE = { lineStyle: { color: '#3a4150' } };
export const SPLIT_LINE = { lineStyle: { color: '#262b35' } };
