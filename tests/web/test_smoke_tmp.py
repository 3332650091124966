import pytest
from tests.web.conftest import login, start, ready_tasks, post
pytestmark = pytest.mark.usefixtures("deployed")

def test_smoke(rt, org, client):
    iid = start(rt, org)
    login(client, "a_rect")
    [t] = ready_tasks(rt, iid)
    r = post(client, f"/tasks/{t.id}", {"action": "complete", "note": "", "version": "2"})
    print(r.status_code, r.get_data(as_text=True)[-2500:])
    r = post(client, f"/tasks/{t.id}", {"action": "complete", "note": "hello", "version": "2"})
    print(r.status_code, r.headers.get("Location"))
    r = client.get("/")
    print(r.get_data(as_text=True)[1000:2500])
    r = client.get(f"/instances/{iid}")
    print(r.status_code, r.get_data(as_text=True)[-2500:])
    r = client.get(f"/instances/{iid}/diagram.bpmn")
    print(r.status_code, r.get_data(as_text=True)[:200])
    assert 0
