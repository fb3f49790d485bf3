-- wrk script: POST a different citizen report each time, each with a unique external_id.
local texts = {
  "三井菜场门口的垃圾桶满了，垃圾都溢出来了",
  "华山路人行道上的井盖翘起来了 走路差点绊倒",
  "市民来电反映：常州北站南广场路灯晚上不亮",
  "薛家吾悦广场门口好多小摊摆到马路上卖早点",
  "锦江路那个工地灰好大 车一过全是土",
  "万达广场东门外共享单车乱停堵住人行道",
  "110转办：报警人称辽河路上一棵大树被风刮倒横在路中间",
  "公司拖欠工资三个月未发，请求帮助",
}
local threads = {}
local counter = 0
local tid = 0
local nonce = os.time()

local token = nil

function init(args)
  token = args[1]
end

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function request()
  counter = counter + 1
  local text = texts[(counter % #texts) + 1]
  -- spread reports over many minutes so the duplicate check sees realistic candidates
  local body = string.format('{"channel":"web","external_id":"bench-%d-%d-%d","text":"%s","received_at":"2026-11-27T%02d:%02d:00+08:00"}',
    nonce, tid, counter, text, 8 + math.floor(counter / 60) % 12, counter % 60)
  local headers = {["Content-Type"] = "application/json"}
  if token then headers["Authorization"] = "Bearer " .. token end
  return wrk.format("POST", "/api/v1/reports", headers, body)
end
