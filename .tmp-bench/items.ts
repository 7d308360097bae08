import 'reflect-metadata';
import { items } from '../bench/cases/items';
items().then((r) => { console.log(JSON.stringify(r, null, 1)); process.exit(0); }, (e) => { console.error(e); process.exit(1); });
