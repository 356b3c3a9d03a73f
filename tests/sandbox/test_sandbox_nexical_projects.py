"""The Nexical emulator's projects and branches, for owner / admin / member / outsider."""

from tests.support.nexical_types import Branch, Project, api_error, many, new_world, one, success


def test_it_lists_and_shows_projects_to_members_only(sandbox):
    world = new_world(sandbox)
    projects = f"/teams/{world.team.id}/projects"
    assert [p.id for p in many(world.member.api.get(projects), "projects", Project)] == [world.project.id]
    project = one(world.member.api.get(world.project_path), 200, "project", Project)
    assert (project.teamId, project.mode, project.contextHash) == (world.team.id, "managed", None)
    api_error(world.outsider.api.get(projects), 404, "not_found")
    api_error(world.outsider.api.get(world.project_path), 404, "not_found")
    api_error(world.owner.api.get(f"{projects}/999999"), 404, "not_found")


def test_it_hides_another_teams_project_behind_a_404(sandbox):
    mine, theirs = new_world(sandbox), new_world(sandbox)
    # A real project id, under a team the caller does belong to: still not found.
    api_error(mine.owner.api.get(f"/teams/{mine.team.id}/projects/{theirs.project.id}"), 404, "not_found")
    api_error(mine.owner.api.get(f"/teams/{theirs.team.id}/projects/{theirs.project.id}"), 404, "not_found")
    api_error(mine.owner.api.delete(f"/teams/{mine.team.id}/projects/{theirs.project.id}"), 404, "not_found")


def test_it_lets_admins_create_update_and_delete_projects(sandbox):
    world = new_world(sandbox)
    projects = f"/teams/{world.team.id}/projects"
    body = {"name": "Ünïcode Lab", "mode": "self_hosted", "productionUrl": "https://lab.example.com"}
    api_error(world.member.api.post(projects, json=body), 403, "forbidden")
    api_error(world.outsider.api.post(projects, json=body), 404, "not_found")
    created = one(world.admin.api.post(projects, json=body), 201, "project", Project)
    assert (created.name, created.mode, created.repoUrl) == ("Ünïcode Lab", "self_hosted", None)

    path = f"{projects}/{created.id}"
    api_error(world.member.api.put(path, json={"name": "x"}), 403, "forbidden")
    updated = one(
        world.admin.api.put(path, json={"repoUrl": "https://git.example.com/lab"}), 200, "project", Project
    )
    assert (updated.name, updated.repoUrl) == ("Ünïcode Lab", "https://git.example.com/lab")
    api_error(world.member.api.delete(path), 403, "forbidden")
    success(world.admin.api.delete(path))
    api_error(world.admin.api.get(path), 404, "not_found")


def test_it_validates_project_bodies(sandbox):
    world = new_world(sandbox)
    projects = f"/teams/{world.team.id}/projects"
    bad = {"mode": "cloud", "repoUrl": 42, "owner": "me"}
    error = api_error(world.owner.api.post(projects, json=bad), 400, "validation_error")
    assert set(error.details) == {"name", "mode", "repoUrl", "owner"}
    api_error(world.owner.api.put(world.project_path, json={"name": "  "}), 400, "validation_error")
    api_error(world.owner.api.put(world.project_path, json={"mode": None}), 400, "validation_error")


def test_it_creates_and_lists_branches_for_members(sandbox):
    world = new_world(sandbox)
    branches = f"{world.project_path}/branches"
    body = {"name": "feature/ünï", "previewUrl": "https://f.example.com"}
    branch = one(world.member.api.post(branches, json=body), 201, "branch", Branch)
    assert (branch.projectId, branch.name, branch.previewUrl) == (
        world.project.id,
        body["name"],
        body["previewUrl"],
    )
    api_error(world.member.api.post(branches, json={"name": "feature/ünï"}), 409, "conflict")
    api_error(world.outsider.api.post(branches, json={"name": "x"}), 404, "not_found")
    error = api_error(
        world.member.api.post(branches, json={"name": "has space", "x": 1}), 400, "validation_error"
    )
    assert set(error.details) == {"name", "x"}
    names = [b.name for b in many(world.member.api.get(branches), "branches", Branch)]
    assert names == ["main", "feature/ünï"]
    assert one(world.member.api.get(f"{branches}/{branch.id}"), 200, "branch", Branch).id == branch.id
    api_error(world.outsider.api.get(f"{branches}/{branch.id}"), 404, "not_found")


def test_it_lets_admins_delete_branches_and_cascades(sandbox):
    world = new_world(sandbox)
    api_error(world.member.api.delete(world.branch_path), 403, "forbidden")
    job = world.member.api.post(f"{world.branch_path}/jobs", json={"type": "build"})
    assert job.status_code == 201
    success(world.admin.api.delete(world.branch_path))
    api_error(world.admin.api.get(world.branch_path), 404, "not_found")
    api_error(world.admin.api.get(f"/jobs/{job.json()['job']['id']}"), 404, "not_found")
    api_error(world.admin.api.get(f"{world.project_path}/branches/999999"), 404, "not_found")
