"""Public learners (群众) register themselves."""
from sqlalchemy import select

from accounts.models import MemberCategory, User
from core.extensions import db
from core.permissions import Role


def register(client, **overrides):
    data = {"name": "李群众", "phone": "13512345678", "password": "good-password", "confirm": "good-password"}
    data.update(overrides)
    return client.post("/register", data=data)


def test_register_creates_a_public_learner_and_logs_in(client):
    response = register(client)
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.phone == "13512345678"))
    assert user.role == Role.PUBLIC and user.category == MemberCategory.PUBLIC and user.organization is None
    assert client.get("/api/v1/me").get_json()["name"] == "李群众"


def test_duplicate_phone_is_refused_next_to_the_field_and_input_kept(client, make_org, make_member):
    existing = make_member(make_org())
    response = register(client, phone=existing.phone, name="王重复")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "该手机号已注册" in page
    assert 'value="王重复"' in page
    assert db.session.scalar(select(db.func.count(User.id)).where(User.name == "王重复")) == 0


def test_bad_phone_and_mismatched_passwords(client):
    response = register(client, phone="12345", confirm="different-one")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "请输入 11 位手机号码" in page
    assert "两次输入的密码不一致" in page
    assert db.session.scalar(select(db.func.count(User.id))) == 0


def test_registration_can_be_switched_off(app, client):
    app.config["ALLOW_PUBLIC_REGISTRATION"] = False
    assert client.get("/register").status_code == 404
    assert register(client).status_code == 404
