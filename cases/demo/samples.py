"""Sample texts for simulated cases: subjects and descriptions per category, customer names,
and the mix of intake channels."""

from __future__ import annotations

from cases.choices import Category, ChannelKind

SUBJECTS = {
    Category.PRODUCT_QUALITY: [
        ("电水壶使用两次后底座冒烟", "The kettle base smoked after two uses"),
        ("儿童座椅卡扣断裂", "Child seat buckle snapped"),
        ("新买的手机屏幕出现亮线", "New phone screen shows a bright line"),
    ],
    Category.AFTER_SALES: [
        ("维修三次仍未修好", "Repaired three times and still broken"),
        ("退货申请一周无人处理", "Return request ignored for a week"),
    ],
    Category.FALSE_ADVERTISING: [
        ("宣传的续航时间与实际严重不符", "Advertised battery life is far from real"),
        ("页面标注包邮，结算时收取运费", "Page said free shipping, checkout charged it"),
    ],
    Category.DELIVERY: [
        ("订单未按时送达", "Order not delivered on time"),
        ("快递显示已签收但未收到货", "Tracking says delivered but nothing arrived"),
        ("包裹破损，商品受损", "Parcel damaged, goods broken"),
    ],
    Category.BILLING: [
        ("重复扣款两次", "Charged twice for one order"),
        ("会员自动续费未经同意", "Membership renewed without consent"),
    ],
    Category.SERVICE_ATTITUDE: [
        ("门店店员态度恶劣", "Store clerk was rude"),
        ("客服电话中途挂断", "Hotline agent hung up mid-call"),
    ],
    Category.UNFULFILLED_PROMISE: [
        ("承诺的赠品一直未发放", "Promised gift never sent"),
        ("答应的退款至今未到账", "Promised refund never arrived"),
    ],
    Category.OTHER: [
        ("发票信息错误", "Wrong details on the invoice"),
        ("账户无法登录", "Cannot log in to my account"),
    ],
}
DESCRIPTIONS_ZH = [
    "客户来电表示非常不满，要求尽快给出处理方案。", "客户称已多次联系未果，希望公司重视。",
    "客户提供了照片和订单截图，情绪较激动。", "下单五天仍未收到货，物流信息一直没有更新。",
    "打开包装发现外壳有明显裂痕。", "使用第二天底座冒烟并有焦味，担心安全。",
    "客服多次承诺回电但一直没有联系我。", "已经申请退款两周，仍然显示处理中。",
    "同一笔订单被扣款两次，请尽快退回。", "师傅约好周六上午上门，结果没有来也没有通知。",
    "购买时承诺的赠品至今没有收到。", "维修后使用三天又出现同样的故障。",
]
DESCRIPTIONS_EN = [
    "The customer says this is the second time it happened and wants a refund.",
    "Customer asked for a call back in the evening after 6 pm.",
    "The courier left the parcel at the wrong address and nobody answers the phone.",
    "The screen flickers after the latest software update.",
    "Two payments were taken for the same order; the bank confirms both.",
    "The technician did not come on Saturday morning as agreed.",
    "The promised refund has been pending for two weeks.",
    "The packaging was crushed and the glass door is cracked.",
]
SOLUTION_ZH = "已核实情况，补发商品并致歉。"
SOLUTION_EN = "Verified; replacement sent and apology made."
FEEDBACK_ZH = "已为您补发商品，并赠送优惠券表示歉意。"
MEASURES_ZH = "加强出库检查，更换物流服务商。"
WITHDRAWN = "客户撤回投诉 / withdrawn by the customer"
RETIER_NOTE = "影响范围比初判更大 / wider impact"
COMPENSATION = "致歉补偿"
CONTACTS = [
    "已致电客户，说明处理流程并致歉。", "已回复客户邮件，告知预计处理时间。",
    "客户未接电话，已发送短信说明进展。", "Called the customer back and explained the next steps.",
]
PROGRESS_NOTES = [
    "已联系相关部门核实，等待回复。", "仓库已确认出库记录，正在核对物流轨迹。",
    "已安排技术人员复检退回商品。", "Waiting for the carrier's investigation report.",
]
CUSTOMER_MESSAGES = [
    "请问现在处理到哪一步了？", "我还是没有收到任何回复，非常失望。",
    "补发的商品仍然有同样的问题。", "Any update? It has been days since my last message.",
]
ASKS = ["请核实物流轨迹并给出补发方案。", "请确认退款进度并回复处理方案。",
        "请检测退回商品并说明质量问题原因。", "请核对账单并说明多收费用。"]
PLAN = "已核实，安排补发并承担运费。"
DONE = "已完成。"
# Values of notice placeholders other than the case's own (reference, code, name).
NOTICE_CONTEXT = {
    "track_url": "/track/", "message": FEEDBACK_ZH, "measures": MEASURES_ZH,
    "compensation": "", "survey_url": "/survey/", "expires_on": "",
}
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = ["芳", "伟", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "超", "霞"]
ENGLISH = ["Emma Li", "James Wang", "Olivia Chen", "Lucas Zhang", "Mia Liu", "Noah Zhao"]

CHANNEL_WEIGHTS = [
    (ChannelKind.HOTLINE, 30), (ChannelKind.WEB, 18), (ChannelKind.APP, 16),
    (ChannelKind.WECHAT, 10), (ChannelKind.WEIBO, 4), (ChannelKind.EMAIL, 8),
    (ChannelKind.WALK_IN, 7), (ChannelKind.CALL_CENTRE, 5), (ChannelKind.LETTER, 2),
]
