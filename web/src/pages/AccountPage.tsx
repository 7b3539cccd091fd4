import { ACCOUNT_SECTIONS } from '../features/account';
import { setPrefs, usePrefs } from '../lib/prefs';

export default function AccountPage() {
  const prefs = usePrefs();
  return (
    <main id="main" className="page">
      <h1>Account</h1>
      {ACCOUNT_SECTIONS.map(({ id, Component }) => <Component key={id} />)}
      <section className="card" aria-labelledby="display-title">
        <h2 id="display-title">Display</h2>
        <div className="field"><label htmlFor="pref-theme">Theme</label>
          <select id="pref-theme" value={prefs.theme} onChange={(e) => setPrefs({ theme: e.target.value as typeof prefs.theme })}>
            <option value="system">As the system</option><option value="light">Light</option><option value="dark">Dark</option>
          </select></div>
        <div className="field"><label htmlFor="pref-tz">Times</label>
          <select id="pref-tz" value={prefs.timeZone} onChange={(e) => setPrefs({ timeZone: e.target.value as typeof prefs.timeZone })}>
            <option value="local">Local time</option><option value="utc">UTC</option>
          </select></div>
      </section>
    </main>
  );
}
