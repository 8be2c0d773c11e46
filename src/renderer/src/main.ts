import { createApp } from 'vue';
import { createPinia } from 'pinia';
import 'vue-echarts/style.css';
import './styles.css';
import App from './App.vue';

import { wireStores } from './stores/wiring.ts';

const app = createApp(App).use(createPinia());
wireStores();
app.mount('#app');
